#!/usr/bin/env node
/**
 * The `haproxy-manager` executable: argv -> the daemon or a CLI command.
 * Every command has --help and --json (the output contract, exit codes and
 * pipe handling are cli/output.ts's). Exit codes: 0 ok, 1 failure, 2 bad
 * usage or invalid configuration. Actions return their exit code through
 * cliAction, which flushes stdout before the process exits.
 */
import { Command, CommanderError, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadConfig, ConfigError } from './config/load.js';
import { DAEMON_VERSION } from './version.js';
import { describe } from './errors.js';
import { apiTarget, certStatus, renewCerts, requestCerts } from './cli/certs.js';
import { runImport } from './cli/import.js';
import { registerBackupCommands } from './cli/backup.js';
import type { SourceFormat } from './pipeline/types.js';
import { CliError, cliAction, errorItems, EXIT, EXIT_CODES_HELP, exitAfterFlush, installPipeHandlers, printJson, reportFailure, writeOut } from './cli/output.js';
import { bytes, progressLine } from './cli/progress.js';
import { configShowYaml, effectiveConfig } from './cli/config-show.js';
import { completionScript, SHELLS } from './cli/completion.js';
import { manPage } from './cli/man.js';

installPipeHandlers();

// What a command needs is loaded when it runs (`await import` in its action):
// --help, completion and the light commands start without loading the
// daemon, HAProxy's renderer or the log pipeline.

const DEFAULT_CONFIG = process.env.HAPROXY_MANAGER_CONFIG ?? '/etc/haproxy-manager/config.yaml';

/** The configuration, or a CliError (exit 2) naming the file and each `path: message`. */
function load(file: string) {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`invalid configuration (${file}):\n${e.lines.map((l) => `  ${l}`).join('\n')}`, EXIT.usage, errorItems(e.lines));
    throw e;
  }
}

/** With --json anywhere on the line, a usage error is printed as JSON by the final handler, not as commander's text. */
const JSON_REQUESTED = process.argv.includes('--json');

const program = new Command()
  .name('haproxy-manager')
  .description('Manages HAProxy (config, certificates, runtime changes) and watches its logs.')
  .version(DAEMON_VERSION)
  .showHelpAfterError(!JSON_REQUESTED)
  .configureOutput({ outputError: (text, write) => void (JSON_REQUESTED ? undefined : write(text)) })
  .addHelpText('afterAll', `\n${EXIT_CODES_HELP}`)
  .exitOverride();
const jsonOpt = ['--json', 'print the result as JSON (failures too)'] as const;

/**
 * The operator's settings for offline commands: the file given, else the
 * default one when it exists, else none (the built-in defaults).
 */
function offlineConfig(file: string | undefined) {
  if (file !== undefined) return load(file);
  return existsSync(DEFAULT_CONFIG) ? load(DEFAULT_CONFIG) : undefined;
}
const offlineConfigOpt = ['-c, --config <file>', "the operator's configuration, for its monitor settings and rules directory (default: $HAPROXY_MANAGER_CONFIG, else /etc/haproxy-manager/config.yaml, when it exists; else the built-in defaults)"] as const;

/** -c: the default shown once, as where it comes from (not the value this shell happens to resolve). */
const configOpt = () => new Option('-c, --config <file>', 'configuration file').default(DEFAULT_CONFIG, '$HAPROXY_MANAGER_CONFIG, else /etc/haproxy-manager/config.yaml');

program
  .command('run')
  .description('run the daemon: render and apply the configuration, supervise HAProxy, renew certificates, watch the logs, act under the policy, notify, serve the management API; SIGHUP reloads the configuration, rules, policy and templates (HAProxy is never restarted by it), SIGTERM stops')
  .addOption(configOpt())
  .option('--json', 'log as JSON lines (log.format: json), and a start-up failure as JSON')
  .action(cliAction(async (o: { config: string; json?: boolean }) => {
    // --json holds across reloads too.
    const withJson = (c: ReturnType<typeof loadConfig>) => (o.json ? { ...c, log: { ...c.log, format: 'json' as const } } : c);
    const cfg = withJson(load(o.config));
    const [{ startDaemon }, { reloadDaemon }] = await Promise.all([import('./daemon.js'), import('./reload.js')]);
    let daemon = await startDaemon(cfg).catch((e: unknown) => {
      throw new CliError(`failed to start: ${describe(e)}`, EXIT.failure);
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
            daemon = (await reloadDaemon(daemon, () => withJson(loadConfig(o.config)))).daemon;
          } catch (e) {
            process.stderr.write(`haproxy-manager: the reload left no daemon running: ${describe(e)}\n`);
            await exitAfterFlush(EXIT.failure);
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
          () => exitAfterFlush(EXIT.ok),
          (e: unknown) => {
            daemon.log.error('stop failed', { error: describe(e) });
            return exitAfterFlush(EXIT.failure);
          },
        );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => reload());
    process.on('unhandledRejection', (e) => daemon.log.error('unhandled rejection', { error: describe(e) }));
    return undefined; // runs until a signal
  }));

const config = program.command('config').description('check or show the configuration');
config
  .command('check')
  .description('validate the configuration file and check paths, the haproxy binary and its version, and the rendered HAProxy config')
  .addOption(configOpt())
  .option('--json', 'print the report as JSON: {"ok", "errors": [{"path", "message"}], "haproxy"}')
  .action(cliAction(async (o: { config: string; json?: boolean }) => {
    const cfg = load(o.config);
    const { checkConfigIo } = await import('./cli/config-check.js');
    const r = await checkConfigIo(cfg);
    const code = r.ok ? EXIT.ok : EXIT.failure;
    if (o.json) await printJson({ ...r, ...(r.ok ? {} : { exit_code: code }), errors: errorItems(r.errors) });
    else {
      if (r.haproxy) {
        process.stdout.write(`haproxy ${r.haproxy.version} (${r.haproxy.binary})\n`);
        for (const p of r.haproxy.protections) process.stdout.write(`  ${p.active ? 'active  ' : 'inactive'} ${p.name}${p.note ? ` (${p.note})` : ''}\n`);
      }
      for (const e of r.errors) process.stderr.write(`${e}\n`);
      process.stdout.write(r.ok ? 'configuration OK\n' : 'configuration has errors\n');
    }
    return code;
  }));
config
  .command('show')
  .description('print the effective configuration: every default filled in, secrets masked (API keys, passwords, tokens, webhook URLs and headers); YAML the daemon reads back, then the derived paths as comments')
  .addOption(configOpt())
  .option('--json', 'print {"ok", "config", "derived"} as JSON instead')
  .action(cliAction(async (o: { config: string; json?: boolean }) => {
    const cfg = load(o.config);
    if (o.json) await printJson({ ok: true, ...effectiveConfig(cfg) });
    else await writeOut(process.stdout, configShowYaml(cfg));
    return EXIT.ok;
  }));

program
  .command('render')
  .description('print the haproxy.cfg the database renders to now (changes nothing)')
  .addOption(configOpt())
  .option('--json', 'print {"ok", "config", "files": {path: text}} as JSON: the config and the map, list and page files beside it')
  .action(cliAction(async (o: { config: string; json?: boolean }) => {
    const cfg = load(o.config);
    const [{ detectHaproxy }, { openDatabaseReadOnly }, { render }, { loadModel }] = await Promise.all([
      import('./haproxy/process/version.js'),
      import('./storage/db.js'),
      import('./haproxy/config/render.js'),
      import('./haproxy/config/model.js'),
    ]);
    const info = await detectHaproxy(cfg.haproxy.binary);
    const db = openDatabaseReadOnly(cfg.paths.database);
    let r: Awaited<ReturnType<typeof render>>;
    try {
      r = render(cfg, info.features, loadModel(db, cfg), cfg.paths.generatedDir);
    } finally {
      db.close();
    }
    if (o.json) await printJson({ ok: true, config: r.config, files: Object.fromEntries(r.files) });
    else await writeOut(process.stdout, r.config);
    return EXIT.ok;
  }));

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
    if (e instanceof ConfigError) throw new CliError(e.lines.join('; '), EXIT.usage, errorItems(e.lines));
    throw e;
  }
}
certs
  .command('request')
  .description('request certificates (HTTP-01; wildcards through the DNS hook), one per domain, with a progress line; on a fleet node that does not lead, waits for the leader to carry the request out')
  .argument('<domains...>', 'hostnames; *.example.com for a wildcard')
  .addOption(configOpt())
  .option('--www', 'also put www.<domain> on each certificate (default: only the names given)')
  .option('--no-www', 'only the names given (kept for scripts written for the original)')
  .option('--force', 'order even when a valid certificate already covers the names (default: skipped, and said so)')
  .option(...urlOpt)
  .option(...keyFileOpt)
  .option('--json', 'print {"ok", "summary", "results"} as JSON at the end instead of a line per domain')
  .action(cliAction(async (domains: string[], o: TargetOpts & { www?: boolean; force?: boolean; json?: boolean }) => {
    return requestCerts(target(o), domains, { www: o.www === true, force: o.force === true }, { json: o.json === true });
  }));
certs
  .command('renew')
  .description('renew certificates that are due (or one domain, or all with --force) and print what happened to each (on a fleet node that does not lead: once the leader has)')
  .addOption(configOpt())
  .option('--domain <name>', 'only the certificate covering this name (default: every certificate that is due)')
  .option('--force', 'renew even when not due')
  .option(...urlOpt)
  .option(...keyFileOpt)
  .option('--json', 'print {"ok", "summary", "results"} as JSON instead of a line per certificate')
  .action(cliAction(async (o: TargetOpts & { domain?: string; force?: boolean; json?: boolean }) => {
    return renewCerts(target(o), { domain: o.domain, force: o.force === true }, { json: o.json === true });
  }));
certs
  .command('status')
  .description('list managed certificates with their expiry and renewal state: a table with a header, then a summary line')
  .addOption(configOpt())
  .option(...urlOpt)
  .option(...keyFileOpt)
  .option('--json', 'print {"ok", "certificates"} as JSON (every field the daemon reports)')
  .action(cliAction(async (o: TargetOpts & { json?: boolean }) => certStatus(target(o), { json: o.json === true })));

program
  .command('import')
  .description('import the domains, backends, servers and site options an existing haproxy.cfg expresses, through the running daemon; prints every line it cannot express')
  .argument('<haproxy.cfg>', 'the configuration to read; the map and list files it names are read too (relative paths from its directory)')
  .addOption(configOpt())
  .option('--dry-run', 'only show what would be created (the default)')
  .option('--apply', 'create the domains: one change, one haproxy -c, one reload; existing domains are never overwritten')
  .option('--json', "print the daemon's answer as JSON, with \"ok\" and \"missing_files\"")
  .option(...urlOpt)
  .option(...keyFileOpt)
  .action(cliAction(async (file: string, o: TargetOpts & { dryRun?: boolean; apply?: boolean; json?: boolean }) => {
    if (o.dryRun && o.apply) throw new CliError('--dry-run and --apply contradict each other', EXIT.usage, [{ path: '--apply', message: 'contradicts --dry-run' }]);
    return runImport(target(o), file, { apply: o.apply === true, json: o.json === true });
  }));

// The database: backup (online) and restore (offline).
registerBackupCommands(program, load, configOpt);

const formatOpt = () => new Option('--format <format>', 'how the input is written').choices(['haproxy', 'json', 'text']).default('haproxy');
const localOpt = ['--local <dir>', "an operator rules directory whose files override the shipped ones, as in rules test (default: monitor.rules_dir of the configuration)"] as const;
/** The input file, or a CliError (exit 2) when it cannot be read; `-` is standard input. */
const checkInput = (file: string): string => {
  if (file !== '-' && !existsSync(file)) throw new CliError(`cannot read ${file}: no such file`, EXIT.usage, [{ path: file, message: 'no such file' }]);
  return file;
};

/**
 * `monitor replay --threads auto`: one per core, at most 8, for standard input
 * and for files of AUTO_SHARD_BYTES or more; one thread for a smaller file,
 * which a shard's start-up (about a third of a CPU second each: modules, rules,
 * a JIT warm-up) would only slow down.
 */
const AUTO_SHARD_BYTES = 64 << 20;
const autoThreads = (file: string): number => (file !== '-' && statSync(file).size < AUTO_SHARD_BYTES ? 1 : Math.min(availableParallelism(), 8));

const monitorCmd = program.command('monitor').description('the log monitor, offline: how it sees a log, and what it would open');
monitorCmd
  .command('explain')
  .description('show, line by line, how the pipeline sees a log: the kind of line, the parsed fields and the rules it matches')
  .argument('<file>', 'a log file, or - for standard input')
  .addOption(formatOpt())
  .option(...offlineConfigOpt)
  .option(...localOpt)
  .option('--rules <dir>', "a rules directory to use instead of the shipped one and the operator's")
  .option('--json', 'one JSON object per input line: {"line", "raw", "ok", "kind", "time", "fields", "rules", "signatures"}')
  .action(cliAction(async (file: string, o: { format: SourceFormat; rules?: string; local?: string; json?: boolean; config?: string }) => {
    const cfg = offlineConfig(o.config);
    const [{ explainRules }, { runMonitorExplain }] = await Promise.all([import('./monitor/explain.js'), import('./cli/monitor-explain.js')]);
    const { rules } = explainRules(o.local ?? cfg?.monitor.rules_dir ?? null, o.rules);
    await runMonitorExplain({ input: checkInput(file), json: o.json === true, format: o.format, rules });
    return EXIT.ok;
  }));
monitorCmd
  .command('replay')
  .description('run the pipeline over a file as fast as it can, acting on nothing, and print the incidents it opens')
  .argument('<file>', 'a log file, or - for standard input')
  .addOption(formatOpt())
  .option(...offlineConfigOpt)
  .option(...localOpt)
  .option('--rules <dir>', "a rules directory to use instead of the shipped one and the operator's")
  .option('--json', 'one JSON object per incident, one per line, at the end')
  .option('--threads <n>', 'parse and triage in n worker threads sharded by client address, 1 to 64, or auto: one per core, at most 8, for input of 64 MiB or more or standard input, else 1 (haproxy format; the same incidents as one thread)', 'auto')
  .action(cliAction(async (file: string, o: { format: SourceFormat; rules?: string; local?: string; json?: boolean; config?: string; threads: string }) => {
    if (o.threads !== 'auto' && (!/^[1-9][0-9]?$/.test(o.threads) || Number(o.threads) > 64)) {
      throw new CliError(`--threads must be a whole number from 1 to 64 or auto, not ${JSON.stringify(o.threads)}`, EXIT.usage, [{ path: '--threads', message: 'a whole number from 1 to 64, or auto' }]);
    }
    const input = checkInput(file);
    const cfg = offlineConfig(o.config);
    const { runReplay } = await import('./cli/monitor-replay.js');
    await runReplay({
      threads: o.threads === 'auto' ? autoThreads(input) : Number(o.threads),
      ...(cfg ? { cfg } : {}),
      input,
      format: o.format,
      json: o.json === true,
      ...(o.rules ? { rulesDir: o.rules } : {}),
      ...(o.local ? { operatorRulesDir: o.local } : {}),
      progress: progressLine('replay', file === '-' ? {} : { unit: bytes }),
    });
    return EXIT.ok;
  }));

program
  .command('logs')
  .description('application logs, offline')
  .command('templates')
  .description('group the lines of a log (one message per line) into templates with the novel-error clusterer, one per log statement (a word that varies is a value)')
  .argument('<file>', 'a log file, or - for standard input')
  .option('--json', 'one JSON object per input line, in input order: {"group": <template id>, "template": ...}')
  .action(cliAction(async (file: string, o: { json?: boolean }) => {
    const input = checkInput(file);
    const { logsTemplates } = await import('./cli/logs-templates.js');
    return logsTemplates(input, { json: o.json === true });
  }));

program
  .command('rules')
  .description('the triage rules')
  .command('test')
  .description("run every rule's sample-log fixtures (config/rules/fixtures) and every signature's examples, and report mismatches")
  .option('--rules <dir>', 'the rules directory (default: the shipped one)')
  .option('--local <dir>', 'an operator rules directory that overrides shipped files')
  .option('--json', 'print the report as JSON: {"ok", "files", "missing", "signatures"}')
  .action(cliAction(async (o: { rules?: string; local?: string; json?: boolean }) => {
    const [{ SHIPPED_RULES_DIR }, { loadRules }, { formatFixtureReport, runRuleFixtures }] = await Promise.all([
      import('./monitor/monitor.js'),
      import('./pipeline/triage/load.js'),
      import('./pipeline/triage/fixtures.js'),
    ]);
    const opts = { dir: o.rules ?? SHIPPED_RULES_DIR, operatorDir: o.local ?? null };
    // A rule file that does not load is a RuleLoadError: exit 2, reported by cliAction.
    const report = runRuleFixtures({ ...opts, loaded: loadRules(opts) });
    const code = report.passed ? EXIT.ok : EXIT.failure;
    if (o.json) await printJson({ ok: report.passed, ...(report.passed ? {} : { exit_code: code }), files: report.files, missing: report.missing, signatures: report.signatures });
    else await writeOut(process.stdout, `${formatFixtureReport(report)}\n`);
    return code;
  }));

program
  .command('completion')
  .description('print a shell completion script for every command, subcommand and option (bash: source it, or put it in /etc/bash_completion.d/; zsh: put it in a directory of $fpath as _haproxy-manager)')
  .addArgument(program.createArgument('<shell>', 'the shell').choices(SHELLS))
  .action(cliAction(async (shell: (typeof SHELLS)[number]) => {
    await writeOut(process.stdout, completionScript(shell, program));
    return EXIT.ok;
  }));

program
  .command('man')
  .description('print the manual page (roff, section 1), generated from the help texts: man -l <(haproxy-manager man)')
  .action(cliAction(async () => {
    await writeOut(process.stdout, manPage(program));
    return EXIT.ok;
  }));

program.parseAsync(process.argv).catch(async (e: unknown) => {
  if (e instanceof CommanderError) {
    // --help and --version end here with 0; usage errors with 2 (commander printed them, unless --json asked for JSON).
    if (e.exitCode !== 0 && JSON_REQUESTED) process.stdout.write(JSON.stringify({ ok: false, exit_code: EXIT.usage, errors: [{ message: e.message.replace(/^error: /, '') }] }) + '\n');
    await exitAfterFlush(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  await exitAfterFlush(reportFailure(e, JSON_REQUESTED));
});
