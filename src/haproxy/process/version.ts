/**
 * What the installed HAProxy is and which optional directives it accepts.
 * Features are probed with the real binary (`haproxy -c` on a tiny config
 * holding the directive), not guessed from the version number, so a
 * distribution backport or a build without a feature is judged correctly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../util/exec.js';
import { AppError, timeoutError } from '../../errors.js';

export interface HaproxyFeatures {
  /** tune.h2.fe.max-total-streams and tune.h2.fe.glitches-threshold (HTTP/2 rapid-reset protection). */
  h2FrontendTunables: boolean;
  /** stats-file: counters survive reloads. */
  statsFile: boolean;
  /** The built-in Prometheus exporter (`-vv` lists it under "Available services"): served at /metrics on the stats listener. */
  prometheusExporter: boolean;
}

export interface HaproxyInfo {
  binary: string;
  version: string;
  major: number;
  minor: number;
  features: HaproxyFeatures;
}

export function parseVersion(text: string): { version: string; major: number; minor: number } | null {
  const m = /HA-?Proxy version (\d+)\.(\d+)(\S*)/.exec(text);
  if (!m) return null;
  return { version: `${m[1]}.${m[2]}${m[3]}`, major: Number(m[1]), minor: Number(m[2]) };
}

const PROBES: Record<Exclude<keyof HaproxyFeatures, 'prometheusExporter'>, (dir: string) => string> = {
  h2FrontendTunables: () => 'tune.h2.fe.max-total-streams 2000\n  tune.h2.fe.glitches-threshold 50',
  statsFile: (dir) => `stats-file ${join(dir, 'stats.dat')}`,
};

async function accepts(binary: string, globalLines: string, dir: string, timeoutMs: number): Promise<boolean> {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.cfg`);
  // A listener is needed: without one `haproxy -c` exits 2 ("will not start").
  writeFileSync(file, `global\n  ${globalLines}\ndefaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nfrontend probe\n  bind 127.0.0.1:1\n`);
  if (globalLines.startsWith('stats-file')) writeFileSync(join(dir, 'stats.dat'), '');
  const r = await run(binary, ['-c', '-q', '-f', file], { timeoutMs });
  return r.code === 0;
}

const cache = new Map<string, HaproxyInfo>();

export async function detectHaproxy(binary: string, timeoutMs = 10_000): Promise<HaproxyInfo> {
  const cached = cache.get(binary);
  if (cached) return cached;
  let r;
  try {
    r = await run(binary, ['-v'], { timeoutMs });
  } catch (e) {
    throw new AppError('config', `haproxy binary ${binary} cannot be run: ${(e as Error).message}`, { cause: e });
  }
  if (r.timedOut) throw timeoutError(`${binary} -v`, timeoutMs);
  const v = parseVersion(r.stdout + r.stderr);
  if (!v) throw new AppError('config', `cannot read the version of ${binary}: ${(r.stdout + r.stderr).slice(0, 200)}`);
  const dir = mkdtempSync(join(tmpdir(), 'hm-probe-'));
  try {
    const features = {} as HaproxyFeatures;
    for (const [name, probe] of Object.entries(PROBES) as [Exclude<keyof HaproxyFeatures, 'prometheusExporter'>, (d: string) => string][]) {
      features[name] = await accepts(binary, probe(dir), dir, timeoutMs);
    }
    const vv = await run(binary, ['-vv'], { timeoutMs });
    features.prometheusExporter = /^Available services\s*:.*\bprometheus-exporter\b/m.test(vv.stdout + vv.stderr);
    const info = { binary, ...v, features };
    cache.set(binary, info);
    return info;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Which protections the rendered configuration has on this HAProxy, for /health and `config check`. */
export function protections(info: HaproxyInfo): { name: string; active: boolean; note?: string }[] {
  const f = info.features;
  return [
    { name: 'timeouts', active: true },
    { name: 'rate_limits', active: true },
    { name: 'ipv6_client_tracking', active: true },
    { name: 'blocked_ip_map', active: true },
    { name: 'trusted_proxy_header_gate', active: true },
    { name: 'http2_rapid_reset', active: f.h2FrontendTunables, ...(f.h2FrontendTunables ? {} : { note: `tune.h2.fe.* not supported by HAProxy ${info.version}` }) },
    { name: 'stats_file', active: f.statsFile, ...(f.statsFile ? {} : { note: `stats-file not supported by HAProxy ${info.version}` }) },
  ];
}
