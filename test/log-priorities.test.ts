/**
 * Journal priorities an operator can filter on (issue 14): a client's
 * mistake (a 409 duplicate block, a 404 unblock, a 400) is info; an action
 * done to traffic (a change applied, a block, a reload) is notice; an opened
 * incident takes its priority from its severity (critical: crit, high: err,
 * medium: warning, low: notice); HAProxy's own [WARNING] lines from a managed
 * child are warning. So `journalctl -p warning` holds what went wrong and
 * nothing a client did wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor } from './helpers/harness.js';
import type { Finding, Severity } from '../src/pipeline/types.js';

const h = HAPROXIES[0]!; // 2.6: it prints a [WARNING] for a server name it cannot resolve (3.0 says [NOTICE])

test(`${h.name}: client mistakes at info, actions at notice, incidents by severity, HAProxy's warnings at warning`, async () => {
  const be = await startBackend('app');
  const t = await startTestDaemon(h.bin);
  try {
    const levelOf = (re: RegExp) => t.entries.filter((e) => re.test(e.line)).map((e) => e.level);
    const mark = t.entries.length;

    // Actions done to traffic: notice.
    assert.equal((await t.api('POST', '/api/domain', domainBody('app.test', 'app', [be.port]))).status, 201);
    assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '198.51.100.9', reason: 'test' })).status, 201);
    assert.deepEqual(levelOf(/^domain\.upsert applied/), ['notice']);
    assert.deepEqual(levelOf(/^blocked_ip\.add applied/), ['notice']);
    assert.ok(levelOf(/^HAProxy reloaded/).every((l) => l === 'notice') && levelOf(/^HAProxy reloaded/).length > 0);

    // Client mistakes: info, never warning or worse.
    const before = t.entries.length;
    assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '198.51.100.9' })).status, 409);
    assert.equal((await t.api('DELETE', '/api/blocked-ips', { ip_address: '198.51.100.77' })).status, 404);
    assert.equal((await t.api('POST', '/api/domain', { ...domainBody('app.test', 'app', [be.port]), routes: [{ path: '/x', backend: 'nosuch' }] })).status, 400);
    assert.equal((await t.api('POST', '/api/domain', domainBody('other.test', 'app', [be.port]))).status, 409);
    const mistakes = t.entries.slice(before);
    assert.ok(mistakes.some((e) => /failed|refused/.test(e.line)), `the mistakes are logged: ${mistakes.map((e) => e.line).join('\n')}`);
    assert.deepEqual(mistakes.filter((e) => ['warn', 'error', 'crit'].includes(e.level)).map((e) => e.line), [], 'no client mistake at warning or worse');

    // Incidents: the priority follows the severity.
    const finding = (rule: string, severity: Severity): Finding => ({
      rule,
      category: 'test',
      severity,
      subject: { type: 'ip', value: '203.0.113.5' },
      time: Date.now(),
      count: 1,
      actions: [],
      escalate: false,
      sample: 'a line',
    });
    for (const s of ['critical', 'high', 'medium', 'low'] as const) t.daemon.monitor.report(finding(`prio-${s}`, s));
    t.daemon.monitor.flush();
    await waitFor(() => levelOf(/^incident opened: prio-low/).length > 0, 5000);
    assert.deepEqual(levelOf(/^incident opened: prio-critical/), ['crit']);
    assert.deepEqual(levelOf(/^incident opened: prio-high/), ['error']);
    assert.deepEqual(levelOf(/^incident opened: prio-medium/), ['warn']);
    assert.deepEqual(levelOf(/^incident opened: prio-low/), ['notice']);

    // HAProxy's own [WARNING] from the managed child: warning.
    assert.equal((await t.api('POST', '/api/domain', { domain: 'named.test', backend_name: 'named', servers: [{ name: 's1', address: 'does-not-exist.invalid', port: 80, check: false }] })).status, 201);
    await waitFor(() => levelOf(/^haproxy: .*\[WARNING\]/).length > 0, 10_000);
    assert.ok(levelOf(/^haproxy: .*\[WARNING\]/).every((l) => l === 'warn'));

    // What `journalctl -p warning` would show since the start of the test: the incidents and HAProxy's warning, no client mistake.
    const shown = t.entries.slice(mark).filter((e) => ['warn', 'error', 'crit'].includes(e.level)).map((e) => e.line);
    assert.ok(shown.some((l) => /prio-critical/.test(l)) && shown.some((l) => /\[WARNING\]/.test(l)), shown.join('\n'));
    assert.deepEqual(shown.filter((l) => /already blocked|not found|no backend named|already serves/.test(l)), []);
  } finally {
    await t.stop();
    await be.close();
  }
});
