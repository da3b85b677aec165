/**
 * The machinery that keeps signature families cheap: the character gate
 * derived from a pattern (gate.ts) must never hide a match, and the memo of
 * recent answers must answer exactly like the pattern, as must the shared
 * memo of request-target answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateFor, topLevelAlternatives } from '../../src/pipeline/triage/gate.js';
import { Memo, SignatureSet, TargetVerdicts } from '../../src/pipeline/triage/signatures.js';
import { LineView, MEMO_SLOTS } from '../../src/pipeline/triage/match.js';
import { loadRules } from '../../src/pipeline/triage/load.js';

test('a gate is derived only where every alternative needs a rare character, and ".." counts as one', () => {
  const g = (p: string) => gateFor(p)?.source ?? null;
  assert.equal(g('\\$\\{\\s*(?:script|dns)\\s*:'), '[$]');
  assert.match(g('[;|`]\\s*wget|\\$\\(id\\)') ?? '', /^\[[;|`$]{4}\]$/);
  assert.equal(g('/cgi-bin/(?:[^?]*/)?\\.\\./'), '\\.\\.');
  assert.equal(g('abc|\\$x'), null); // one alternative has no rare character
  assert.equal(g('\\$?abc'), null); // optional
  assert.equal(g('(?:\\$|ab)c'), null); // a group with an alternative lacking one
  assert.equal(g('(?=\\$)x'), null); // lookarounds are not understood
  assert.equal(g('(a)\\1\\$'), null); // nor back-references
  assert.equal(g('[a-z$]x'), null); // a range: no gate from the class
  assert.equal(g('[a-z]+\\(x'), '[(]'); // the class is passed, a later required character used
  assert.equal(g('x{0,3}|y'), null);
  assert.deepEqual(topLevelAlternatives('a|(b|c)|[|]|\\|d'), ['a', '(b|c)', '[|]', '\\|d']);
});

test('the gate never hides a match: every shipped signature example passes its group\'s gate', () => {
  const { rules } = loadRules({ dir: 'config/rules' });
  let checked = 0;
  for (const r of rules) {
    for (const e of r.signatures ?? []) {
      const gate = gateFor(e.pattern);
      if (gate === null) continue;
      for (const m of e.match) {
        // The example as the engine tests it: raw or decoded, so one of the two forms must pass.
        const decoded = decodeURIComponentLoose(m);
        assert.ok(gate.test(m) || gate.test(decoded), `${r.name}/${e.id}: ${m} fails its gate ${gate.source}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 30, `${checked} examples checked`);
});

function decodeURIComponentLoose(s: string): string {
  let cur = s;
  for (let i = 0; i < 3; i++) cur = cur.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return cur.replace(/#([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

test('the memo answers exactly like its pattern, through collisions and long values', () => {
  const re = /bot/i;
  const m = new Memo(re);
  const values: string[] = [];
  for (let i = 0; i < MEMO_SLOTS * 3; i++) values.push(i % 7 === 0 ? `Some Bot ${i}` : `Mozilla/5.0 (${i})`);
  values.push('x'.repeat(300) + 'bot', '');
  for (let round = 0; round < 2; round++) for (const v of values) assert.equal(m.test(v), re.test(v), v.slice(0, 40));
});

test('the shared memo of request-target answers (TargetVerdicts) answers exactly as each rule testing alone, line after line', () => {
  const { rules } = loadRules({ dir: 'config/rules' });
  const withSigs = rules.filter((r) => r.signatures && r.signatures.length > 0);
  const targets = new TargetVerdicts();
  const shared = withSigs.map((r) => new SignatureSet(r.signatures!, targets));
  const alone = withSigs.map((r) => new SignatureSet(r.signatures!));
  // Every example of every entry (matching and normal), each asked twice (the second time from the memo), between ordinary targets.
  const paths: string[] = [];
  for (const r of withSigs) for (const e of r.signatures!) if (e.field === 'path' || e.field === 'path_normalized') paths.push(...e.match, ...e.normal);
  const ordinary = ['/', '/index.html', '/static/app.js?v=3', '/api/items?page=2', '//double//slash', '/a/../b', '/%2e%2e/x'];
  const seq = [...ordinary, ...paths, ...ordinary, ...paths];
  assert.ok(paths.length > 50);
  let matched = 0;
  for (const p of seq) {
    const v = new LineView();
    v.reset({ ok: true, kind: 'http', time: 0, fields: { method: 'GET', status: 404, client_ip: '192.0.2.1', path: p, user_agent: 'curl/8.0' } }, 'test', 0);
    for (let i = 0; i < shared.length; i++) {
      const a = (alone[i] as SignatureSet).test(v);
      assert.equal((shared[i] as SignatureSet).test(v), a, `${withSigs[i]!.name} on ${p}`);
      if (a) matched++;
    }
  }
  assert.ok(matched > 0);
});
