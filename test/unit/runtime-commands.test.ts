/**
 * Only src/haproxy/runtime/ talks to HAProxy's sockets: no runtime command
 * string and no `.send(` on the stats or master client anywhere else in src/.
 * The scan is lexical (comments dropped, then a quote followed by a command);
 * its own detector is tested on a sample first so a broken scan cannot pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** Files allowed to hold commands: the typed client's folder, nothing else. */
const ALLOWED = [/^haproxy\/runtime\//];

/** A string literal (or a template's head) that opens with a runtime or master CLI command. */
const COMMAND = new RegExp(
  [
    String.raw`show (stat|info|proc|table|map|acl|servers|ssl|sess|errors|pools|backend|env|events|activity|threads|resolvers|startup-logs|cli|version)\b`,
    String.raw`(set|add|del|clear|get) (server|map|acl|ssl|weight|maxconn|table|rate-limit|severity-output)\b`,
    String.raw`(commit|abort|new) ssl\b`,
    String.raw`dump stats-file`,
    String.raw`(enable|disable) (server|frontend|backend|health|agent)\b`,
    String.raw`shutdown (session|sessions|frontend)\b`,
    String.raw`(show|set|add|del|clear|commit|abort|new) \$\{`,
    String.raw`@(\d|!|master)`,
  ]
    .map((c) => `['"\x60](${c})`)
    .join('|'),
);
/** A send on the stats or master client (control.stats.send, master.send...), or `reload` sent to any socket. */
const SEND = /\b(stats|master)\s*\.\s*send\s*\(|\.send\(\s*['"\x60]reload['"\x60]/;

/** The code of `text` without its comments (line-wise: good enough for this repository's style). */
function code(text: string): string[] {
  let inBlock = false;
  return text.split('\n').map((line) => {
    let out = '';
    let rest = line;
    while (rest.length) {
      if (inBlock) {
        const end = rest.indexOf('*/');
        if (end < 0) return out;
        rest = rest.slice(end + 2);
        inBlock = false;
      }
      const open = rest.search(/\/\*/);
      const lineComment = rest.search(/(^|[\s;,(){}])\/\/(?!\/)/);
      if (open >= 0 && (lineComment < 0 || open < lineComment)) {
        out += rest.slice(0, open);
        rest = rest.slice(open + 2);
        inBlock = true;
      } else {
        return out + (lineComment >= 0 ? rest.slice(0, lineComment + 1) : rest);
      }
    }
    return out;
  });
}

/** `file:line: text` for each offending line of `text`. */
function offences(file: string, text: string): string[] {
  return code(text).flatMap((l, i) => (COMMAND.test(l) || SEND.test(l) ? [`${file}:${i + 1}: ${l.trim()}`] : []));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('the detector finds commands and sends, and ignores comments and prose', () => {
  const sample = [
    "const a = await control.stats.send('show stat');",
    'await x.send(`show ${kind} ${file}`);',
    "const r = await client.send('reload');",
    'const c = `set server ${id} state ${s}`;',
    "const d = 'dump stats-file';",
    "await client.send(`commit ssl cert ${f}`);",
    "const m = '@1 show info';",
    '/** `show stat` rows, `set server` and `reload` in a doc comment */',
    '/**',
    ' * `show proc` in a block comment, and `dump stats-file`',
    ' */',
    "log.info('set by hand'); // show stat",
    "run('systemctl', ['reload', unit]);",
    "const msg = 'the stats socket names itself HAProxy';",
    "const url = 'http://x/show stat';",
  ].join('\n');
  const found = offences('sample.ts', sample).map((o) => Number(/:(\d+):/.exec(o)![1]));
  assert.deepEqual(found, [1, 2, 3, 4, 5, 6, 7]);
});

test('no runtime command string or socket send outside src/haproxy/runtime/', () => {
  const files = walk(SRC);
  assert.ok(files.length > 50, 'the scan sees src/');
  const found = files
    .map((f) => relative(SRC, f))
    .filter((rel) => !ALLOWED.some((re) => re.test(rel)))
    .flatMap((rel) => offences(rel, readFileSync(join(SRC, rel), 'utf8')));
  assert.deepEqual(found, [], 'use the typed API of src/haproxy/runtime/ instead');
});

test('the allowed folder does hold the commands (the scan would see them)', () => {
  const inRuntime = walk(join(SRC, 'haproxy', 'runtime')).flatMap((f) => offences(relative(SRC, f), readFileSync(f, 'utf8')));
  assert.ok(inRuntime.some((o) => o.includes("'show stat'")), inRuntime.join('\n'));
  assert.ok(inRuntime.some((o) => o.includes('`set server ${id} state ${to}`')), inRuntime.join('\n'));
});
