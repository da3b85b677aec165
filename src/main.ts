#!/usr/bin/env node
/**
 * The `haproxy-manager` executable: argv -> the daemon or a CLI command.
 * Every command has --help. Exit codes: 0 ok, 1 failure, 2 bad usage or
 * invalid configuration.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { loadConfig, ConfigError } from './config/load.js';
import { startDaemon } from './daemon.js';
import { checkConfigIo } from './cli/config-check.js';
import { detectHaproxy } from './haproxy/version.js';
import { render } from './haproxy/render.js';
import { loadModel } from './haproxy/model.js';
import { openDatabase } from './storage/db.js';
import { describe } from './errors.js';
import { apiTarget, requestCerts, simpleCall } from './cli/certs.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
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
  .version(pkg.version)
  .showHelpAfterError()
  .exitOverride();

const configOpt = ['-c, --config <file>', `configuration file (default $HAPROXY_MANAGER_CONFIG or ${DEFAULT_CONFIG})`, DEFAULT_CONFIG] as const;

program
  .command('run')
  .description('run the daemon: render and apply the configuration, supervise HAProxy, serve the management API')
  .option(...configOpt)
  .action(async (o: { config: string }) => {
    const cfg = load(o.config);
    const daemon = await startDaemon(cfg).catch((e) => {
      process.stderr.write(`haproxy-manager failed to start: ${describe(e)}\n`);
      process.exit(1);
    });
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      daemon.log.info('signal received', { signal: sig });
      daemon.stop().then(
        () => process.exit(0),
        (e) => {
          daemon.log.error('stop failed', { error: describe(e) });
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
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
    const db = openDatabase(cfg.paths.database);
    const r = render(cfg, info.features, loadModel(db.reader, cfg), cfg.paths.generatedDir);
    process.stdout.write(r.config);
  });

const certs = program.command('certs').description('certificates of a running daemon, through its API');
certs
  .command('request')
  .description('request certificates (HTTP-01; wildcards through the DNS hook), one per domain, with a progress line')
  .argument('<domains...>', 'hostnames; *.example.com for a wildcard')
  .option(...configOpt)
  .option('--no-www', 'do not add www.<domain> to each certificate')
  .option('--force', 'replace certificates that are still valid')
  .action(async (domains: string[], o: { config: string; www: boolean; force?: boolean }) => {
    const cfg = load(o.config);
    process.exit(await requestCerts(apiTarget(cfg), domains, { www: o.www, force: o.force === true }, process.stdout));
  });
certs
  .command('renew')
  .description('renew certificates that are due (or one domain, or all with --force) and print what happened to each')
  .option(...configOpt)
  .option('--domain <name>', 'only the certificate covering this name')
  .option('--force', 'renew even when not due')
  .action(async (o: { config: string; domain?: string; force?: boolean }) => {
    const cfg = load(o.config);
    const r = await simpleCall(apiTarget(cfg), 'POST', '/api/certificates/renew', { ...(o.domain ? { domain: o.domain } : {}), force: o.force === true });
    process.stdout.write(r.text + '\n');
    process.exit(r.status < 300 ? 0 : 1);
  });
certs
  .command('status')
  .description('list managed certificates with their expiry and renewal state')
  .option(...configOpt)
  .action(async (o: { config: string }) => {
    const cfg = load(o.config);
    const r = await simpleCall(apiTarget(cfg), 'GET', '/api/certificates/status');
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

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  process.stderr.write(`haproxy-manager: ${describe(e)}\n`);
  process.exit(1);
});
