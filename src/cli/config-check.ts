/**
 * `haproxy-manager config check`: the schema validation start-up runs, plus
 * the I/O checks: state directory writable, haproxy binary found, its version
 * and the protections active on it, and the rendered configuration accepted by
 * `haproxy -c`; the policy and rule files, the notification channels' secret
 * files and, when analysis is on, its API key. Prints `path: message` lines
 * and exits non-zero on any error.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Config } from '../config/schema.js';
import { detectHaproxy, protections } from '../haproxy/process/version.js';
import { run } from '../util/exec.js';
import { render } from '../haproxy/config/render.js';
import { loadModel } from '../haproxy/config/model.js';
import { openDatabaseReadOnly } from '../storage/db.js';
import { describe, isAppError } from '../errors.js';
import { loadPolicy, PolicyLoadError, SHIPPED_POLICY_FILE } from '../pipeline/policy/load.js';
import { loadRules } from '../pipeline/triage/load.js';
import { SHIPPED_RULES_DIR } from '../monitor/monitor.js';
import { createChannels } from '../pipeline/notify/channels.js';
import { analysisApiKey } from '../pipeline/analysis/stage.js';

export interface CheckReport {
  ok: boolean;
  errors: string[];
  haproxy?: { version: string; binary: string; protections: ReturnType<typeof protections> };
}

function writable(dir: string): string | null {
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    return null;
  } catch (e) {
    return describe(e);
  }
}

export async function checkConfigIo(cfg: Config): Promise<CheckReport> {
  const errors: string[] = [];
  for (const [key, dir] of [
    ['state_dir', cfg.paths.stateDir],
    ['haproxy.config_path', dirname(cfg.paths.configPath)],
    ['haproxy.generated_dir', cfg.paths.generatedDir],
  ] as const) {
    const err = writable(dir);
    if (err) errors.push(`${key}: ${dir} is not writable: ${err}`);
  }
  let report: CheckReport['haproxy'];
  try {
    const info = await detectHaproxy(cfg.haproxy.binary);
    report = { version: info.version, binary: info.binary, protections: protections(info) };
    if (errors.length === 0) {
      // Render what the database holds now (or an empty model) and have HAProxy check it.
      const tmp = mkdtempSync(join(tmpdir(), 'hm-check-'));
      try {
        // Read-only: a check never creates or migrates the database. One written by an
        // older build (the daemon migrates it when it starts) is checked as empty.
        const empty = { backends: [], blocked: [], trustedRealIp: [], trustedSource: [], trustedProxies: [], acmePort: cfg.acme.challenge_port, crtList: null, tcpServices: [] };
        const model = existsSync(cfg.paths.database)
          ? (() => {
              let db;
              try {
                db = openDatabaseReadOnly(cfg.paths.database);
              } catch (e) {
                if (isAppError(e) && e.kind === 'config' && /schema version/.test(e.message)) return empty;
                throw e;
              }
              try {
                return loadModel(db, cfg);
              } finally {
                db.close();
              }
            })()
          : empty;
        const r = render(cfg, info.features, model, join(tmp, 'files'));
        for (const [rel, text] of r.files) {
          mkdirSync(dirname(join(tmp, 'files', rel)), { recursive: true });
          writeFileSync(join(tmp, 'files', rel), text);
        }
        if (info.features.statsFile) writeFileSync(join(cfg.paths.stateDir, 'haproxy-stats.dat'), '', { flag: 'a' });
        writeFileSync(join(tmp, 'haproxy.cfg'), r.config);
        const c = await run(cfg.haproxy.binary, ['-c', '-f', join(tmp, 'haproxy.cfg')], { timeoutMs: 30_000 });
        if (c.code !== 0) {
          const alerts = (c.stderr + c.stdout).split('\n').filter((l) => /ALERT/.test(l));
          errors.push(`haproxy: the rendered configuration is rejected: ${alerts.join(' | ')}`);
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  } catch (e) {
    errors.push(`haproxy.binary: ${describe(e)}`);
  }
  // What start-up loads besides the config: the policy, the rules, the channels' secrets, the analysis key.
  try {
    loadPolicy({ file: SHIPPED_POLICY_FILE, operatorFile: cfg.monitor.policy_file });
  } catch (e) {
    errors.push(...(e instanceof PolicyLoadError ? e.lines.map((l) => `monitor.policy_file: ${l}`) : [`monitor.policy_file: ${describe(e)}`]));
  }
  if (cfg.monitor.enabled) {
    try {
      loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: cfg.monitor.rules_dir });
    } catch (e) {
      errors.push(`monitor.rules_dir: ${describe(e)}`);
    }
  }
  try {
    for (const ch of createChannels(cfg.notifications, 'config-check').values()) await ch.close?.();
  } catch (e) {
    errors.push(describe(e));
  }
  if (cfg.analysis.enabled) {
    try {
      if (!analysisApiKey(cfg, process.env)) errors.push(`analysis.enabled: no API key (systemd credential "anthropic-api-key", analysis.api_key_file, or $${cfg.analysis.api_key_env})`);
    } catch (e) {
      errors.push(describe(e));
    }
  }
  return { ok: errors.length === 0, errors, ...(report ? { haproxy: report } : {}) };
}
