#!/usr/bin/env node
/**
 * The `haproxy-manager` executable: argv -> the daemon or a CLI command.
 * Every command has --help. Exit codes: 0 ok, 1 failure, 2 bad usage or
 * invalid configuration.
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, ConfigError } from './config/load.js';
import { startDaemon } from './daemon.js';
import { reloadDaemon } from './reload.js';
import { checkConfigIo } from './cli/config-check.js';
import { detectHaproxy } from './haproxy/process/version.js';
import { DAEMON_VERSION } from './version.js';
import { render } from './haproxy/config/render.js';
import { loadModel } from './haproxy/config/model.js';
import { openDatabaseReadOnly } from './storage/db.js';
import { describe } from './errors.js';
import { apiTarget, requestCerts, simpleCall } from './cli/certs.js';
import { runImport } from './cli/import.js';
import { registerBackupCommands } from './cli/backup.js';
import { runMonitorExplain } from './cli/monitor-explain.js';
import { explainRules } from './monitor/explain.js';
import { runReplay } from './cli/monitor-replay.js';
import { logsTemplates } from './cli/logs-templates.js';
import { rulesTestCommand } from './pipeline/triage/fixtures.js';
import { SHIPPED_RULES_DIR } from './monitor/monitor.js';
import type { SourceFormat } from './pipeline/types.js';

const DEFAULT_CONFIG = process.env.HAPROXY_MANAGER_CONFIG ?? '/etc/haproxy-manager/config.yaml';

function load(file: string) {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`invalid configuration (${file}):\n${e.lines.map((l) => `  ${l}`).join('\n')}\n`);
      process.exit(2);
    }
    throw e;
  }
}

const program = new Command()
  .name('haproxy-manager')
  .description('Manages HAProxy (config, certificates, runtime changes) and watches its logs.')
  .version(DAEMON_VERSION)
  .showHelpAfterError()
  .exitOverride();

/**
 * The operator's settings for offline commands: the file given, else the
 * default one when it exists, else none (the built-in defaults).
 */
function offlineConfig(file: string | undefined) {
  if (file !== undefined) return load(file);
  return existsSync(DEFAULT_CONFIG) ? load(DEFAULT_CONFIG) : undefined;
}
const offlineConfigOpt = ['-c, --config <file>', `the operator's configuration, for its monitor settings and rules directory (default $HAPROXY_MANAGER_CONFIG or ${DEFAULT_CONFIG} when it exists, else the built-in defaults)`] as const;

const configOpt = ['-c, --config <file>', `configuration file (default $HAPROXY_MANAGER_CONFIG or ${DEFAULT_CONFIG})`, DEFAULT_CONFIG] as const;

program
  .command('run')
  .description('run the daemon: render and apply the configuration, supervise HAProxy, renew certificates, watch the logs, act under the policy, notify, serve the management API; SIGHUP reloads the configuration, rules, policy and templates (HAProxy is never restarted by it), SIGTERM stops')
  .option(...configOpt)
  .action(async (o: { config: string }) => {
    const cfg = load(o.config);
    let daemon = await startDaemon(cfg).catch((e) => {
      process.stderr.write(`haproxy-manager failed to start: ${describe(e)}\n`);
      process.exit(1);
    });
    // One reload at a time; a SIGHUP during one asks for one more after it; a stop waits for it.
    let reloading: Promise<void> | null = null;
    let again = false;
    let stopping = false;
    const reload = () => {
      if (stopping) return;
      if (reloading) {
        again = true;
        return;
      }
      reloading = (async () => {
        do {
          again = false;
          try {
            daemon = (await reloadDaemon(daemon, () => loadConfig(o.config))).daemon;
          } catch (e) {
            process.stderr.write(`haproxy-manager: the reload left no daemon running: ${describe(e)}\n`);
            process.exit(1);
          }
        } while (again && !stopping);
      })().finally(() => {
        reloading = null;
      });
    };
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      daemon.log.info('signal received', { signal: sig });
      Promise.resolve(reloading)
        .then(() => daemon.stop())
        .then(
          () => process.exit(0),
          (e) => {
            daemon.log.error('stop failed', { error: describe(e) });
            process.exit(1);
          },
        );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => reload());
    process.on('unhandledRejection', (e) => daemon.log.error('unhandled rejection', { error: describe(e) }));
  });

const config = program.command('config').description('check or show the configuration');
config
  .command('check')
  .description('validate the configuration file and check paths, the haproxy binary and its version, and the rendered HAProxy config')
  .option(...configOpt)
  .option('--json', 'print the report as JSON')
  .action(async (o: { config: string; json?: boolean }) => {
    const cfg = load(o.config);
    const r = await checkConfigIo(cfg);
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      if (r.haproxy) {
        process.stdout.write(`haproxy ${r.haproxy.version} (${r.haproxy.binary})\n`);
        for (const p of r.haproxy.protections) process.stdout.write(`  ${p.active ? 'active  ' : 'inactive'} ${p.name}${p.note ? ` (${p.note})` : ''}\n`);
      }
      for (const e of r.errors) process.stderr.write(`${e}\n`);
      process.stdout.write(r.ok ? 'configuration OK\n' : 'configuration has errors\n');
    }
    process.exit(r.ok ? 0 : 1);
  });

program
  .command('render')
  .description('print the haproxy.cfg the database renders to now (changes nothing)')
  .option(...configOpt)
  .action(async (o: { config: string }) => {
    const cfg = load(o.config);
    const info = await detectHaproxy(cfg.haproxy.binary);
    const db = openDatabaseReadOnly(cfg.paths.database);
    try {
      process.stdout.write(render(cfg, info.features, loadModel(db, cfg), cfg.paths.generatedDir).config);
    } finally {
      db.close();
    }
  });

const certs = program.command('certs').description('certificates of a running daemon, through its API');
const urlOpt = ['--url <url>', "the daemon's API, http://host:port (default: api.listen and api.port of the configuration)"] as const;
const keyFileOpt = ['--api-key-file <file>', 'a file holding the API key (default: $HAPROXY_MANAGER_API_KEY, the credential, api.key_file, else <state_dir>/api-key)'] as const;
type TargetOpts = { config: string; url?: string; apiKeyFile?: string };
/** The API target of a CLI command; a bad --url or an unreadable key is a configuration error (exit 2). */
function target(o: TargetOpts) {
  const cfg = load(o.config);
  try {
    return apiTarget(cfg, { url: o.url, apiKeyFile: o.apiKeyFile });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`haproxy-manager: ${e.lines.join('; ')}\n`);
      process.exit(2);
    }
    throw e;
  }
}
certs
  .command('request')
  .description('request certificates (HTTP-01; wildcards through the DNS hook), one per domain, with a progress line')
  .argument('<domains...>', 'hostnames; *.example.com for a wildcard')
  .option(...configOpt)
  .option('--www', 'also put www.<domain> on each certificate (default: only the names given)')
  .option('--no-www', 'only the names given (the default; kept for scripts written for the original)')
  .option('--force', 'order even when a valid certificate already covers the names (default: skipped, and said so)')
  .option(...urlOpt)
  .option(...keyFileOpt)
  .action(async (domains: string[], o: TargetOpts & { www?: boolean; force?: boolean }) => {
    process.exit(await requestCerts(target(o), domains, { www: o.www === true, force: o.force === true }, process.stdout));
  });
certs
  .command('renew')
  .description('renew certificates that are due (or one domain, or all with --force) and print what happened to each')
  .option(...configOpt)
  .option('--domain <name>', 'only the certificate covering this name')
  .option('--force', 'renew even when not due')
  .option(...urlOpt)
  .option(...keyFileOpt)
  .action(async (o: TargetOpts & { domain?: string; force?: boolean }) => {
    const r = await simpleCall(target(o), 'POST', '/api/certificates/renew', { ...(o.domain ? { domain: o.domain } : {}), force: o.force === true });
    process.stdout.write(r.text + '\n');
    process.exit(r.status < 300 ? 0 : 1);
  });
certs
  .command('status')
  .description('list managed certificates with their expiry and renewal state')
  .option(...configOpt)
  .option(...urlOpt)
  .option(...keyFileOpt)
  .action(async (o: TargetOpts) => {
    const r = await simpleCall(target(o), 'GET', '/api/certificates/status');
    if (r.status !== 200) {
      process.stderr.write(`the daemon answered ${r.status}: ${r.text.slice(0, 500)}\n`);
      process.exit(1);
    }
    const { certificates: list } = JSON.parse(r.text) as { certificates: { domain: string; expires: string; days_until_expiry: number; renewal_due: boolean; last_error: string | null }[] };
    for (const c of list) {
      process.stdout.write(`${c.domain.padEnd(40)} ${c.expires ?? '-'}  ${String(c.days_until_expiry).padStart(5)} days${c.renewal_due ? '  renewal due' : ''}${c.last_error ? `  last error: ${c.last_error}` : ''}\n`);
    }
    process.exit(0);
  });

program
  .command('import')
  .description('import the domains, backends, servers and site options an existing haproxy.cfg expresses, through the running daemon; prints every line it cannot express')
  .argument('<haproxy.cfg>', 'the configuration to read; the map and list files it names are read too (relative paths from its directory)')
  .option(...configOpt)
  .option('--dry-run', 'only show what would be created (the default)')
  .option('--apply', 'create the domains: one change, one haproxy -c, one reload; existing domains are never overwritten')
  .option('--json', "print the daemon's answer as JSON")
  .option(...urlOpt)
  .option(...keyFileOpt)
  .action(async (file: string, o: TargetOpts & { dryRun?: boolean; apply?: boolean; json?: boolean }) => {
    if (o.dryRun && o.apply) {
      process.stderr.write('haproxy-manager: --dry-run and --apply contradict each other\n');
      process.exit(2);
    }
    process.exit(await runImport(target(o), file, { apply: o.apply === true, json: o.json === true }, process.stdout, process.stderr));
  });

// The database: backup (online) and restore (offline).
registerBackupCommands(program, load, configOpt);

const formatOpt = ['--format <format>', 'how the input is written: haproxy, json or text', 'haproxy'] as const;
const checkFormat = (f: string): SourceFormat => {
  if (f !== 'haproxy' && f !== 'json' && f !== 'text') {
    process.stderr.write(`--format: must be haproxy, json or text, not ${JSON.stringify(f)}\n`);
    process.exit(2);
  }
  return f;
};

const monitorCmd = program.command('monitor').description('the log monitor, offline: how it sees a log, and what it would open');
monitorCmd
  .command('explain')
  .description('show, line by line, how the pipeline sees a log: the kind of line, the parsed fields and the rules it matches')
  .argument('<file>', 'a log file, or - for standard input')
  .option(...formatOpt)
  .option(...offlineConfigOpt)
  .option('--rules <dir>', "a rules directory to use instead of the shipped one and the operator's")
  .option('--json', 'one JSON object per input line')
  .action(async (file: string, o: { format: string; rules?: string; json?: boolean; config?: string }) => {
    const cfg = offlineConfig(o.config);
    const { rules } = explainRules(cfg?.monitor.rules_dir ?? null, o.rules);
    await runMonitorExplain({ input: file, json: o.json === true, format: checkFormat(o.format), rules });
    process.exit(0);
  });
monitorCmd
  .command('replay')
  .description('run the pipeline over a file as fast as it can, acting on nothing, and print the incidents it opens')
  .argument('<file>', 'a log file, or - for standard input')
  .option(...formatOpt)
  .option(...offlineConfigOpt)
  .option('--rules <dir>', "a rules directory to use instead of the shipped one and the operator's")
  .option('--json', 'one JSON object per incident, one per line, at the end')
  .action(async (file: string, o: { format: string; rules?: string; json?: boolean; config?: string }) => {
    const cfg = offlineConfig(o.config);
    await runReplay({
      ...(cfg ? { cfg } : {}),
      input: file,
      format: checkFormat(o.format),
      json: o.json === true,
      ...(o.rules ? { rulesDir: o.rules } : {}),
      ...(o.json || !process.stderr.isTTY ? {} : { progress: (s: string) => void process.stderr.write(s) }),
    });
    process.exit(0);
  });

program
  .command('logs')
  .description('application logs, offline')
  .command('templates')
  .description('group the lines of a log (one message per line) into templates, as the novel-error detector does')
  .argument('<file>', 'a log file, or - for standard input')
  .option('--json', 'one JSON object per input line, in input order: {"group": <template id>, "template": ...}')
  .action(async (file: string, o: { json?: boolean }) => {
    process.exit(await logsTemplates(file, { json: o.json === true }));
  });

program
  .command('rules')
  .description('the triage rules')
  .command('test')
  .description("run every rule's sample-log fixtures (config/rules/fixtures) and report mismatches")
  .option('--rules <dir>', 'the rules directory (default: the shipped one)')
  .option('--local <dir>', 'an operator rules directory that overrides shipped files')
  .action((o: { rules?: string; local?: string }) => {
    process.exit(rulesTestCommand({ dir: o.rules ?? SHIPPED_RULES_DIR, operatorDir: o.local ?? null }));
  });

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  process.stderr.write(`haproxy-manager: ${describe(e)}\n`);
  process.exit(1);
});
