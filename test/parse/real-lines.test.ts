/**
 * Lines written by real HAProxy 2.6 and 3.0 builds (test/parse/fixtures/real),
 * captured from one run each sent to seven log targets at once, one per
 * HAProxy log format (rfc3164, rfc5424, raw, iso, timed, short, priority),
 * plus the master's stderr. Every line must parse, and the same message must
 * give the same result whatever header the format put in front of it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLine } from '../../src/pipeline/parse/index.js';
import type { ParsedLine } from '../../src/pipeline/types.js';

const DIR = join(import.meta.dirname, 'fixtures', 'real');
const FORMATS = ['rfc3164', 'rfc5424', 'raw', 'iso', 'timed', 'short', 'priority'];
const NOW = Date.UTC(2026, 11, 1);

function lines(name: string): string[] {
  return readFileSync(join(DIR, name), 'utf8').split('\n').filter((l) => l !== '');
}

/** The result without what the header added, for comparing formats. */
function core(p: ParsedLine): unknown {
  const { syslog_host: _h, program: _p, pid: _pid, level: _l, ...rest } = p.fields;
  return { ok: p.ok, kind: p.kind, time: p.kind === 'event' ? undefined : p.time, fields: rest };
}

for (const version of ['2.6', '3.0']) {
  describe(`real HAProxy ${version} lines`, () => {
    for (const fmt of [...FORMATS, 'stderr']) {
      it(`every ${fmt} line parses`, () => {
        const all = lines(`haproxy-${version}-${fmt}.log`);
        assert.ok(all.length > 40);
        for (const line of all) {
          const p = parseLine(line, 'haproxy', { now: NOW });
          assert.equal(p.ok, true, `unparsed: ${line}\n${JSON.stringify(p)}`);
          const traffic = / \[\d\d\/\w{3}\/\d{4}:/.test(line);
          if (traffic) assert.ok(['http', 'tcp', 'conn_error'].includes(p.kind), `${p.kind}: ${line}`);
          else assert.equal(p.kind, 'event', line);
          if (p.kind === 'event') assert.notEqual(p.fields.event, undefined, line);
          if (p.kind === 'http') {
            assert.equal(typeof p.fields.status, 'number', line);
            assert.ok(p.fields.method !== undefined || p.fields.bad_request === true, line);
          }
          if (fmt !== 'raw' && fmt !== 'stderr' && fmt !== 'short' && fmt !== 'priority') assert.notEqual(p.time, null, line);
        }
      });
    }

    it('the same message parses the same under every header', () => {
      const n = lines(`haproxy-${version}-rfc5424.log`).length;
      const raw = lines(`haproxy-${version}-raw.log`).slice(0, n).map((l) => core(parseLine(l, 'haproxy', { now: NOW })));
      for (const fmt of FORMATS) {
        const other = lines(`haproxy-${version}-${fmt}.log`).slice(0, n);
        assert.equal(other.length, n, fmt);
        other.forEach((l, k) => assert.deepEqual(core(parseLine(l, 'haproxy', { now: NOW })), raw[k], `${fmt} line ${k + 1}: ${l}`));
      }
    });

    it('kinds and events seen', () => {
      const seen = new Set<string>();
      for (const fmt of [...FORMATS, 'stderr']) {
        for (const l of lines(`haproxy-${version}-${fmt}.log`)) {
          const p = parseLine(l, 'haproxy', { now: NOW });
          seen.add(p.kind === 'event' ? `event:${String(p.fields.event)}` : p.kind);
        }
      }
      for (const k of ['http', 'tcp', 'conn_error', 'event:server_down', 'event:server_up', 'event:backend_no_server', 'event:proxy_stopped', 'event:worker_started', 'event:worker_exited', 'event:haproxy_started', 'event:haproxy_reloaded', 'event:haproxy_stopping']) {
        assert.ok(seen.has(k), `no ${k} in ${[...seen].join(', ')}`);
      }
    });
  });
}
