/** `monitor replay` builds its pipeline from the operator's settings (the daemon's factory), not the schema defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReplay } from '../src/cli/monitor-replay.js';
import { parseConfig } from '../src/config/load.js';

const probe = (time: string, path: string) => `198.51.100.5:38956 [25/Nov/2026:${time}.747] web app/s1 0/0/0/1/1 404 142 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8.0} "GET ${path} HTTP/1.1"`;

test("monitor replay uses the operator's monitor settings: a longer incident_quiet keeps two probes 90 minutes apart in one incident", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-replay-'));
  try {
    const log = join(dir, 'haproxy.log');
    writeFileSync(log, `${probe('15:00:00', '/.env')}\n${probe('16:30:00', '/.git/config')}\n`);
    const count = async (cfg?: ReturnType<typeof parseConfig>) => {
      let out = '';
      await runReplay({ input: log, format: 'haproxy', json: true, write: (s) => void (out += s), ...(cfg ? { cfg } : {}) });
      return out.trim().split('\n').map((l) => JSON.parse(l) as { rule: string }).filter((i) => i.rule === 'sensitive-files').length;
    };
    assert.equal(await count(), 2, 'defaults: quiet after 10 minutes, so two incidents (once_per 1h has passed)');
    const cfg = parseConfig(`state_dir: ${dir}/state\nmonitor:\n  incident_quiet: 2h\n`, join(dir, 'config.yaml'), { env: {} });
    assert.equal(await count(cfg), 1, "the operator's 2h keeps it one incident");
    const prot = parseConfig(`state_dir: ${dir}/state\nremediation:\n  protected: [198.51.100.0/24]\n`, join(dir, 'config.yaml'), { env: {} });
    let out = '';
    await runReplay({ input: log, format: 'haproxy', json: true, write: (s) => void (out += s), cfg: prot });
    assert.ok(!out.includes('"block_ip"'), 'a protected address is never a block subject');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
