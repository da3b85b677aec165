/**
 * The console's incidents, actions and explain pages in a real browser
 * (Debian's Chromium) against the real daemon and HAProxy (2.6 and 3.0):
 * scanners sent through HAProxy (via a trusted proxy) open real incidents
 * whose samples carry an XSS payload in the User-Agent; the analysis tier,
 * against a fake Anthropic server, writes a summary carrying another; both
 * render as text (no injected element, no dialog). The policy proposes the
 * rules' blocks (the shipped policy with `mode: propose`): one is approved
 * from /actions and HAProxy refuses that address, another is rejected, the
 * done block is reverted and the address is let in again. Explain names the
 * rule an attack line matches, and no attack rule for a normal line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor } from '../helpers/harness.js';
import { startFakeAnthropic } from '../helpers/anthropic-server.js';
import { browserPerFile, consolePage, waitForText } from '../helpers/browser.js';

const PROXY = '127.0.0.10';
const A1 = '198.51.100.31';
const A2 = '198.51.100.32';
const UA_XSS = 'sqlmap/1.7 <script>alert(1)</script><img src=x onerror=alert(2)>';
const SUMMARY_XSS = 'A scanner fetched /.env <img src=x onerror=alert(3)><script>alert(4)</script>';
const ATTACK_LINE = 'Nov 25 14:00:00 lb haproxy[2231]: 203.0.113.9:37296 [25/Nov/2026:14:00:00.123] web~ web-backend/s1 2/0/0/29/32 404 162 - - ---- 12/12/3/1/0 0/0 {example.com|Mozilla/5.0 (l9explore/1.2.2)} "GET /.env HTTP/1.1"';
const NORMAL_LINE = 'Nov 25 14:00:03 lb haproxy[2231]: 198.51.100.200:58383 [25/Nov/2026:14:00:03.413] web~ web-backend/s1 1/0/1/33/35 200 18323 - - ---- 12/12/3/1/0 0/0 {www.example.com|Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0} "GET /blog HTTP/1.1"';

interface Action { id: number; action: string; target: string | null; status: string; decided_by: string; incident_id: number | null; analysis_summary: string | null }
interface Incident { id: number; rule: string; subject: { value: string }; samples: string[] }

/** The shipped policy with the rules' blocks proposed instead of done. */
function proposingPolicy(dir: string): string {
  const doc = parseDocument(readFileSync(new URL('../../config/policy.yaml', import.meta.url), 'utf8'));
  const rules = doc.get('rules') as { items: { get(k: string): unknown }[] };
  const block = rules.items.find((r) => r.get('name') === 'block-clear-attackers')!;
  (block.get('actions') as { items: { set(k: string, v: unknown): void; get(k: string): unknown }[] }).items.find((a) => a.get('type') === 'block_ip')!.set('mode', 'propose');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

const browser = browserPerFile();

for (const h of HAPROXIES) {
  test(`${h.name}: console incidents, actions (approve, reject, revert) and explain; XSS in samples and a model summary renders as text`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-console-inc-'));
    writeFileSync(join(dir, 'anthropic-key'), 'sk-ant-console-test-0123456789', { mode: 0o600 });
    const be = await startBackend('app');
    const ai = await startFakeAnthropic({
      respond: () => ({ kind: 'tool', input: { summary: SUMMARY_XSS, likely_cause: 'a scanner <b>looking</b> for secrets', severity: 'high', confidence: 0.9, recommended_actions: [{ type: 'block_ip', target: A1, ttl_s: 3600, reason: 'scanner <i>x</i>' }] } }),
    });
    const t = await startTestDaemon(h.bin, {
      config: {
        monitor: { policy_file: proposingPolicy(dir) },
        analysis: { enabled: true, base_url: ai.url, api_key_file: join(dir, 'anthropic-key'), fast: { model: 'fast-model', timeout_ms: 5000, max_retries: 0 }, backoff_s: 1, batch: { max_wait_s: 5, max_wait_below_high_s: 5 } },
      },
    });
    const b = browser();
    const via = (path: string, ip: string, headers: Record<string, string> = {}) => t.get('shop.test', path, { localAddress: PROXY, headers: { 'X-Forwarded-For': ip, ...headers } });
    const actions = async () => (await t.api('GET', '/api/actions')).json<Action[]>();
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: PROXY })).status, 201);

      // Two scanners through HAProxy, their User-Agent an XSS payload: incidents, and blocks proposed (not done).
      for (const p of ['/.env', '/.git/config']) await via(p, A1, { 'User-Agent': UA_XSS });
      await via('/.git/config', A2, { 'User-Agent': UA_XSS });
      assert.ok(await waitFor(async () => {
        const a = await actions();
        return [A1, A2].every((ip) => a.some((x) => x.action === 'block_ip' && x.target === ip && x.status === 'proposed' && x.decided_by === 'rule'));
      }, 15_000, 100), `blocks proposed: ${JSON.stringify(await actions())}`);
      assert.equal((await via('/', A1)).status, 200, 'a proposal blocks nothing yet');
      const incs = (await t.api('GET', '/api/incidents')).json<Incident[]>();
      const served = incs.find((i) => i.rule === 'sensitive-file-served' && i.subject.value === A1);
      assert.ok(served, JSON.stringify(incs.map((i) => [i.rule, i.subject.value])));
      assert.ok(await waitFor(async () => (await t.api('GET', `/api/incidents/${served.id}`)).json<{ analyses: unknown[] }>().analyses.length > 0, 10_000, 100), 'the incident is analysed');
      // The API's own filters (rule, subject).
      const byRule = (await t.api('GET', `/api/incidents?rule=sensitive-file-served&subject=${A1}`)).json<Incident[]>();
      assert.deepEqual(byRule.map((i) => i.id), [served.id]);

      const op = await consolePage(b, t.apiPort, t.apiKey!);
      const injected = () => op.page.$$eval('main img, main script, main iframe, main b, main i', (els) => els.length);

      // The list, filtered by subject: the payload is text, nothing injected.
      assert.equal(await op.goto(`/incidents?subject=${A1}`), 200);
      await waitForText(op.page, '#incident-list', 'sensitive-file-served');
      const listText = await op.page.$eval('#incident-list', (e) => e.textContent ?? '');
      assert.ok(!listText.includes(A2), 'the subject filter leaves A2 out');
      await op.goto('/incidents?status=open&severity=high');
      await op.goto('/incidents?rule=no+such+rule');
      await waitForText(op.page, '.error', 'rule');
      await op.goto('/incidents');
      await waitForText(op.page, '#incident-list', A2);
      assert.equal(await injected(), 0);
      await op.shot(`incidents-${h.name}`);

      // The detail: samples with the User-Agent as text, the model's summary as text in model-text.
      assert.equal(await op.goto(`/incidents/${served.id}`), 200);
      await waitForText(op.page, '#incident-samples', '<script>alert(1)</script><img src=x onerror=alert(2)>');
      assert.ok((await op.page.$$eval('#incident-samples .client-text', (els) => els.length)) > 0);
      await waitForText(op.page, '#incident-analyses .model-text', SUMMARY_XSS);
      await waitForText(op.page, '#incident-analyses .model-text', 'a scanner <b>looking</b> for secrets');
      await waitForText(op.page, '#incident-actions', 'block_ip');
      await waitForText(op.page, '#incident-actions', 'block-clear-attackers');
      assert.equal(await injected(), 0);
      await op.shot(`incident-detail-${h.name}`);
      // The detail's actions are the incident's own, asked of the API by incident_id.
      const own = (await t.api('GET', `/api/actions?incident_id=${served.id}`)).json<Action[]>();
      assert.ok(own.length > 0 && own.every((a) => a.incident_id === served.id));
      assert.equal(await op.page.$$eval('#incident-actions li.action', (els) => els.length), own.length);
      assert.equal((await t.api('GET', '/api/actions?incident_id=0')).status, 400);
      assert.equal(await op.goto('/incidents/999999'), 404);

      // Actions: approve A1's block; HAProxy refuses A1.
      const all = await actions();
      const p1 = all.find((x) => x.action === 'block_ip' && x.target === A1 && x.status === 'proposed' && x.decided_by === 'rule')!;
      const p2 = all.find((x) => x.action === 'block_ip' && x.target === A2 && x.status === 'proposed' && x.decided_by === 'rule')!;
      assert.equal(await op.goto('/actions'), 200);
      await waitForText(op.page, '#actions-proposed', 'block-clear-attackers');
      await op.shot(`actions-proposed-${h.name}`);
      await op.page.click(`#action-${p1.id} button[data-api$="/approve"]`);
      assert.ok(await waitFor(async () => (await via('/', A1)).status === 403, 10_000, 100), 'the approved block refuses A1 at HAProxy');
      assert.equal((await via('/', A2)).status, 200, 'A2 is not blocked');
      await waitForText(op.page, `#action-${p1.id}`, 'done');
      // Reject A2's with a note.
      await op.page.type(`#reject-note-${p2.id}`, 'a known crawler <b>x</b>');
      await op.page.click(`#action-${p2.id} form button[type="submit"]`);
      assert.ok(await waitFor(async () => (await actions()).find((x) => x.id === p2.id)?.status === 'rejected', 5000, 100), 'rejected');
      await waitForText(op.page, `#action-${p2.id}`, 'rejected');
      await waitForText(op.page, `#action-${p2.id}`, 'a known crawler <b>x</b>');
      assert.equal((await via('/', A2)).status, 200, 'a rejected block blocks nothing');
      // The model's words, where an action carries them, are model text.
      const withSummary = (await actions()).find((x) => x.analysis_summary);
      if (withSummary) await waitForText(op.page, `#action-${withSummary.id} .model-text`, SUMMARY_XSS);
      assert.equal(await injected(), 0);
      await op.shot(`actions-${h.name}`);
      // Revert the done block: A1 is let in again.
      await op.page.click(`#action-${p1.id} button[data-api$="/revert"]`);
      assert.ok(await waitFor(async () => (await via('/', A1)).status === 200, 10_000, 100), 'the revert lets A1 in');
      await waitForText(op.page, `#action-${p1.id}`, 'reverted');
      const inverse = (await actions()).find((x) => x.action === 'unblock_ip' && x.target === A1);
      assert.ok(inverse && inverse.decided_by === 'person' && inverse.status === 'done', JSON.stringify(inverse));
      // At phone width the list stays usable (a screenshot to look at).
      await op.page.setViewport({ width: 375, height: 800 });
      await op.goto('/actions');
      await op.shot(`actions-phone-${h.name}`);
      await op.page.setViewport({ width: 1280, height: 900 });

      // Explain: an attack line names its rule, a normal line none.
      assert.equal(await op.goto('/explain'), 200);
      // Pasted (typing a long text key by key is slow). Surrounding whitespace is not trimmed away: the API's 400 shows, naming the line.
      const paste = (v: string) => op.page.$eval('#explain-lines', (e, x) => void ((e as HTMLTextAreaElement).value = x), v);
      await paste(`  ${ATTACK_LINE}\n${NORMAL_LINE}`);
      await op.page.click('form[data-explain] button[type="submit"]');
      await waitForText(op.page, 'form[data-explain] [data-result]', 'lines[0]');
      // CRLF line endings and an empty line between are only how lines are separated.
      await paste(`${ATTACK_LINE}\r\n\r\n${NORMAL_LINE}\r\n`);
      await op.page.click('form[data-explain] button[type="submit"]');
      await waitForText(op.page, '#explain-out', '2 lines');
      const rows = await op.page.$$eval('#explain-out tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      assert.equal(rows.length, 2);
      assert.equal(rows[0]![2], 'http');
      assert.match(rows[0]![4]!, /sensitive-files/);
      assert.match(rows[0]![3]!, /\/\.env/);
      assert.equal(rows[1]![2], 'http');
      // A normal line matches no attack rule (a rate rule's filter, such as request-flood's, takes every request).
      assert.doesNotMatch(rows[1]![4]!, /sensitive-files|scanner/);
      await op.shot(`explain-${h.name}`);
      // The route itself: bounded, and every line passes the shared text check.
      const ok = await t.api('POST', '/api/monitor/explain', { lines: [ATTACK_LINE, 'not a log line'] });
      assert.equal(ok.status, 200, ok.body);
      const j = ok.json<{ lines: { kind: string; ok: boolean; rules: string[] }[] }>();
      assert.deepEqual(j.lines.map((l) => [l.kind, l.ok]), [['http', true], ['unknown', false]]);
      assert.ok(j.lines[0]!.rules.includes('sensitive-files'));
      const tab = await t.api('POST', '/api/monitor/explain', { lines: [ATTACK_LINE, 'a\tb'] });
      assert.equal(tab.status, 400);
      assert.match(tab.body, /lines\[1\]/);
      assert.equal((await t.api('POST', '/api/monitor/explain', { lines: Array.from({ length: 201 }, () => 'x') })).status, 400);
      assert.equal((await t.api('POST', '/api/monitor/explain', { lines: [] })).status, 400);

      // The viewer sees the same pages without a control.
      const viewer = await consolePage(b, t.apiPort, readFileSync(t.daemon.cfg.paths.viewerKeyFile, 'utf8').trim());
      assert.equal(await viewer.goto('/actions'), 200);
      await waitForText(viewer.page, 'main', 'block-clear-attackers');
      assert.equal(await viewer.page.$$eval('main button[data-api]', (els) => els.length), 0);
      assert.equal(await viewer.goto(`/incidents/${served.id}`), 200);

      for (const p of [op, viewer]) {
        assert.deepEqual(p.problems, [], 'no CSP violation or page error');
        assert.deepEqual(p.dialogs, [], 'no dialog');
      }
    } finally {
      await t.stop();
      await Promise.all([be.close(), ai.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
