/** Reading a systemd unit file and systemd-analyze's verdict on it (test/systemd-unit.test.ts, test/package.test.ts). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/** The unit's values of one key (every line, in order), without comments. */
export function unitValues(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1).trim());
}

/** `systemd-analyze security --offline=true <file>`: the overall exposure and the items still open. */
export function securityExposure(file: string): { exposure: number; open: string[] } {
  const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(out);
  assert.ok(m, `no exposure line in:\n${out}`);
  const open = out
    .split('\n')
    .filter((l) => l.startsWith('✗'))
    .map((l) => `${l.split(/\s+/)[1]} (${/(\d\.\d)\s*$/.exec(l)?.[1] ?? '?'})`);
  return { exposure: Number(m[1]), open };
}

