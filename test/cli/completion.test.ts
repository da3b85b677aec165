/**
 * Shell completion and the manual page, both generated from the commander
 * tree: bash parses the bash script (bash -n) and, sourced, completes
 * commands, subcommands, options and fixed values; zsh -n when zsh is
 * installed; the roff page passes groff's warnings check when groff is
 * installed, and structural checks always; every command and option of the
 * tree is in both; scripts/man.ts writes the page to the path it is given.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli, runProcess, ROOT } from './run-cli.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Every command path and its long options, read from --help (the source both generators use). */
const EXPECTED: Record<string, string[]> = {
  'config show': ['--config', '--json'],
  'config check': ['--config', '--json'],
  'certs request': ['--config', '--www', '--no-www', '--force', '--url', '--api-key-file', '--json'],
  'certs renew': ['--domain', '--force', '--json'],
  'certs status': ['--json'],
  'monitor explain': ['--format', '--config', '--local', '--rules', '--json'],
  'monitor replay': ['--format', '--config', '--local', '--rules', '--json'],
  'logs templates': ['--json'],
  'rules test': ['--rules', '--local', '--json'],
  import: ['--dry-run', '--apply', '--json'],
  render: ['--config', '--json'],
  run: ['--config', '--json'],
  backup: ['--config', '--force', '--json'],
  restore: ['--config', '--json'],
};

let dir: string;
let bashScript: string;
let zshScript: string;
let man: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hm-cli-completion-'));
  const [b, z, m] = await Promise.all([cli(['completion', 'bash']), cli(['completion', 'zsh']), cli(['man'])]);
  for (const r of [b, z, m]) assert.equal(r.code, 0, r.stderr);
  bashScript = join(dir, 'hm.bash');
  writeFileSync(bashScript, b.stdout);
  zshScript = join(dir, '_haproxy-manager');
  writeFileSync(zshScript, z.stdout);
  man = m.stdout;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bash completion', () => {
  test('bash -n accepts it', () => {
    const r = spawnSync('bash', ['-n', bashScript], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  /** What the completion function offers for the words typed so far (the last one being completed). */
  const complete = (words: string[]) => {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync('bash', ['-c', `source ${JSON.stringify(bashScript)}; COMP_WORDS=(haproxy-manager ${quoted}); COMP_CWORD=${words.length}; _haproxy_manager; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };

  test('commands, subcommands, options and fixed values', () => {
    assert.deepEqual(complete(['']), ['run', 'config', 'render', 'certs', 'import', 'backup', 'restore', 'monitor', 'logs', 'rules', 'completion', 'man']);
    assert.deepEqual(complete(['config', '']), ['check', 'show']);
    assert.deepEqual(complete(['certs', 're']), ['request', 'renew']);
    assert.deepEqual(complete(['monitor', 'replay', '--format', '']), ['haproxy', 'json', 'text']);
    assert.deepEqual(complete(['completion', '']), ['bash', 'zsh']);
    // An option's value is skipped when finding the command: -c FILE before the subcommand's options.
    assert.deepEqual(complete(['monitor', 'explain', '-c', 'x.yaml', '--lo']), ['--local']);
    for (const [path, opts] of Object.entries(EXPECTED)) {
      const offered = complete([...path.split(' '), '--']);
      for (const o of opts) assert.ok(offered.includes(o), `${path}: ${o} not in ${offered.join(' ')}`);
    }
  });

  test('a file where a value or the argument is a file', () => {
    writeFileSync(join(dir, 'site.yaml'), '');
    assert.deepEqual(complete(['config', 'show', '-c', 'site.']), ['site.yaml']);
    assert.deepEqual(complete(['monitor', 'explain', 'site.']), ['site.yaml']);
  });
});

describe('zsh completion', () => {
  // zsh (and groff) come with `scripts/install.sh --test`.
  test('zsh -n accepts it', () => {
    assert.ok(has('zsh'), 'zsh is installed by scripts/install.sh --test');
    const r = spawnSync('zsh', ['-n', zshScript], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  test('it is a #compdef file naming every command path and option', () => {
    const text = readFileSync(zshScript, 'utf8');
    assert.match(text, /^#compdef haproxy-manager\n/);
    assert.match(text, /compdef _haproxy-manager haproxy-manager/);
    for (const [path, opts] of Object.entries(EXPECTED)) {
      const row = new RegExp(`^ {4}"${path}"\\) echo "([^"]*)" ;;$`, 'm').exec(text.slice(text.indexOf('_haproxy_manager_opts()')));
      assert.ok(row, path);
      for (const o of opts) assert.ok(row[1]!.split(' ').includes(o), `${path}: ${o}`);
    }
    // bash -n parses the shared case tables the same way (zsh's own syntax is checked with zsh -n where it exists).
    const tables = text.slice(text.indexOf('_haproxy_manager_subs()'), text.indexOf('_haproxy-manager()'));
    assert.equal(spawnSync('bash', ['-n'], { input: tables }).status, 0);
  });
  test('an unknown shell: exit 2', async () => {
    const r = await cli(['completion', 'fish']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Allowed choices are bash, zsh/);
  });
});

describe('the manual page', () => {
  test('structure: a title, the standard sections, every command with its options', () => {
    const lines = man.split('\n');
    assert.match(lines.find((l) => l.startsWith('.TH'))!, /^\.TH HAPROXY\\-MANAGER 1 "" "haproxy\\-manager \d+\.\d+\.\d+" "User Commands"$/);
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES']) assert.ok(lines.includes(`.SH ${s}`), s);
    for (const [path, opts] of Object.entries(EXPECTED)) {
      const at = lines.findIndex((l) => l.startsWith(`.SS haproxy\\-manager ${path.replace(/-/g, '\\-')} `));
      assert.ok(at >= 0, path);
      const end = lines.findIndex((l, i) => i > at && /^\.S[SH] /.test(l));
      const section = lines.slice(at, end).join('\n');
      for (const o of opts) assert.ok(section.includes(`\\fB${o.replace(/-/g, '\\-')}\\fR`), `${path}: ${o}`);
    }
    // No text line starts with a control character, no stray unescaped backslash sequences.
    for (const l of lines) if (!l.startsWith('.')) assert.doesNotMatch(l, /^'/);
    assert.match(man, /\.SH EXIT STATUS\n\.TP\n\\fB0\\fR\nok\n\.TP\n\\fB1\\fR\n/);
  });

  test('groff formats it without a warning', () => {
    assert.ok(has('groff'), 'groff is installed by scripts/install.sh --test');
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: man, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '');
    const text = spawnSync('groff', ['-man', '-Tascii', '-P', '-c', '-P', '-b', '-P', '-u'], { input: man, encoding: 'utf8' }).stdout;
    assert.match(text, /haproxy-manager config show \[options\]/);
    assert.match(text, /-c, --config <file>/);
  });

  test('scripts/man.ts writes the page to the path given', async () => {
    const out = join(dir, 'out', 'haproxy-manager.1');
    const r = await runProcess(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/man.ts'), out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), man);
    const none = await runProcess(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/man.ts')]);
    assert.equal(none.code, 2);
  });
});
