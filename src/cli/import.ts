/**
 * `haproxy-manager import <haproxy.cfg>`: reads the file and the map and
 * list files it names (relative paths from the file's directory), sends
 * them to the daemon's POST /api/import, and prints the plan and every line
 * that is not expressible; with --json, the daemon's answer with `"ok": true`
 * (and `missing_files`). Exit codes: 0 done, 1 failure (the daemon
 * unreachable or failing, a conflict), 2 bad usage or input (an unreadable
 * file, a 400 from the daemon), thrown as CliError (cli/output.ts prints it,
 * as JSON with --json). A progress line shows on a terminal while the daemon
 * works (one request: no percentage).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { Writable } from 'node:stream';
import { simpleCall, type ApiTarget } from './certs.js';
import { tokenize } from '../import/tokenize.js';
import { CliError, EXIT, writeOut } from './output.js';
import { bytes, progressLine } from './progress.js';

/** The map, list and page files a configuration names: `-f <file>`, map converters' first argument and `http-error ... file <page>`, as written. */
export function referencedFiles(text: string): string[] {
  const out = new Set<string>();
  for (const l of tokenize(text, '')) {
    l.words.forEach((w, i) => {
      if (w === '-f' && l.words[i + 1]) out.add(l.words[i + 1]!);
      if (w === 'file' && l.words[0] === 'http-error' && l.words[i + 1]) out.add(l.words[i + 1]!);
      for (const m of w.matchAll(/map(?:_[a-z]+)?\(([^,)]+)/g)) out.add(m[1]!);
    });
  }
  return [...out];
}

interface Answer {
  applied: boolean;
  reloaded: boolean;
  domains: { domain: string; backend_name: string; servers?: unknown[] }[];
  tcp_services?: { name: string; kind: string; sni?: string; port?: number; servers?: unknown[] }[];
  skipped: { file: string; line: number; text: string; reason: string }[];
  notes: string[];
  warning?: string;
}

export async function runImport(t: ApiTarget, file: string, o: { apply: boolean; json: boolean }, out: Writable = process.stdout): Promise<number> {
  let config: string;
  try {
    config = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, EXIT.usage, [{ path: file, message: `cannot read: ${(e as Error).message}` }]);
  }
  const maps: Record<string, string> = {};
  const missing: string[] = [];
  for (const ref of referencedFiles(config)) {
    try {
      maps[ref] = readFileSync(isAbsolute(ref) ? ref : join(dirname(file), ref), 'utf8');
    } catch {
      missing.push(ref);
    }
  }
  const progress = progressLine(o.apply ? 'importing' : 'planning the import');
  const size = config.length + Object.values(maps).reduce((n, m) => n + m.length, 0);
  progress.update(0, null, `${bytes(size)} sent, waiting for the daemon${o.apply ? ' (haproxy -c, reload)' : ''}`, true);
  let r: { status: number; text: string };
  try {
    r = await simpleCall(t, 'POST', '/api/import', { config, file_name: basename(file), ...(Object.keys(maps).length ? { maps } : {}), apply: o.apply });
  } finally {
    progress.end();
  }
  if (r.status !== 200) {
    let message = r.text.slice(0, 500);
    try {
      // The daemon's message names the field already ("config: contains ...").
      const b = JSON.parse(r.text) as { message?: string };
      if (b.message) message = b.message;
    } catch {
      /* not JSON: the text as it came */
    }
    throw new CliError(`the daemon refused the import (${r.status}): ${message}`, r.status === 400 ? EXIT.usage : EXIT.failure, [{ message: `${r.status}: ${message}` }]);
  }
  const a = JSON.parse(r.text) as Answer;
  if (o.json) {
    await writeOut(out, JSON.stringify({ ok: true, ...a, missing_files: missing }, null, 2) + '\n');
    return EXIT.ok;
  }
  let text = '';
  const w = (l: string) => void (text += l);
  w(`${a.applied ? 'Created' : o.apply ? 'Nothing to create;' : 'Would create (dry run; --apply creates them)'} ${a.domains.length} domain${a.domains.length === 1 ? '' : 's'}${a.domains.length ? ':' : ''}\n`);
  for (const d of a.domains) w(`  ${d.domain} -> ${d.backend_name} (${d.servers?.length ?? 0} server${d.servers?.length === 1 ? '' : 's'})\n`);
  const tcp = a.tcp_services ?? [];
  if (tcp.length) {
    w(`${a.applied ? 'Created' : 'Would create'} ${tcp.length} TCP service${tcp.length === 1 ? '' : 's'}:\n`);
    for (const t of tcp) w(`  ${t.name}: ${t.kind === 'tcp' ? `port ${t.port ?? '?'}` : `TLS passthrough of ${t.sni ?? '?'}`} (${t.servers?.length ?? 0} server${t.servers?.length === 1 ? '' : 's'})\n`);
  }
  if (a.skipped.length) {
    w(`\nNot imported (${a.skipped.length}):\n`);
    for (const s of a.skipped) w(`  ${s.file}:${s.line}: "${s.text.length > 80 ? `${s.text.slice(0, 77)}...` : s.text}": ${s.reason}\n`);
  }
  for (const m of missing) w(`  (${m} could not be read from ${dirname(file)})\n`);
  if (a.notes.length) {
    w('\nNotes:\n');
    for (const n of a.notes) w(`  ${n}\n`);
  }
  if (a.warning) w(`\nwarning: ${a.warning}\n`);
  if (a.applied) w(`\nHAProxy ${a.reloaded ? 'reloaded' : 'not reloaded'}.\n`);
  await writeOut(out, text);
  return EXIT.ok;
}
