/**
 * `haproxy-manager import <haproxy.cfg>`: reads the file and the map and
 * list files it names (relative paths from the file's directory), sends
 * them to the daemon's POST /api/import, and prints the plan and every line
 * that is not expressible. Exit codes: 0 done, 1 failure (the daemon
 * unreachable or failing, a conflict), 2 bad usage or input (an unreadable
 * file, a 400 from the daemon).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { simpleCall, type ApiTarget } from './certs.js';
import { tokenize } from '../import/tokenize.js';

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

export async function runImport(t: ApiTarget, file: string, o: { apply: boolean; json: boolean }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let config: string;
  try {
    config = readFileSync(file, 'utf8');
  } catch (e) {
    err.write(`haproxy-manager: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
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
  let r: { status: number; text: string };
  try {
    r = await simpleCall(t, 'POST', '/api/import', { config, file_name: basename(file), ...(Object.keys(maps).length ? { maps } : {}), apply: o.apply });
  } catch (e) {
    err.write(`haproxy-manager: ${(e as Error).message}\n`);
    return 1;
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
    err.write(`haproxy-manager: the daemon refused the import (${r.status}): ${message}\n`);
    return r.status === 400 ? 2 : 1;
  }
  if (o.json) {
    out.write(`${r.text}\n`);
    return 0;
  }
  const a = JSON.parse(r.text) as Answer;
  out.write(`${a.applied ? 'Created' : o.apply ? 'Nothing to create;' : 'Would create (dry run; --apply creates them)'} ${a.domains.length} domain${a.domains.length === 1 ? '' : 's'}${a.domains.length ? ':' : ''}\n`);
  for (const d of a.domains) out.write(`  ${d.domain} -> ${d.backend_name} (${d.servers?.length ?? 0} server${d.servers?.length === 1 ? '' : 's'})\n`);
  const tcp = a.tcp_services ?? [];
  if (tcp.length) {
    out.write(`${a.applied ? 'Created' : 'Would create'} ${tcp.length} TCP service${tcp.length === 1 ? '' : 's'}:\n`);
    for (const t of tcp) out.write(`  ${t.name}: ${t.kind === 'tcp' ? `port ${t.port ?? '?'}` : `TLS passthrough of ${t.sni ?? '?'}`} (${t.servers?.length ?? 0} server${t.servers?.length === 1 ? '' : 's'})\n`);
  }
  if (a.skipped.length) {
    out.write(`\nNot imported (${a.skipped.length}):\n`);
    for (const s of a.skipped) out.write(`  ${s.file}:${s.line}: "${s.text.length > 80 ? `${s.text.slice(0, 77)}...` : s.text}": ${s.reason}\n`);
  }
  for (const m of missing) out.write(`  (${m} could not be read from ${dirname(file)})\n`);
  if (a.notes.length) {
    out.write('\nNotes:\n');
    for (const n of a.notes) out.write(`  ${n}\n`);
  }
  if (a.warning) out.write(`\nwarning: ${a.warning}\n`);
  if (a.applied) out.write(`\nHAProxy ${a.reloaded ? 'reloaded' : 'not reloaded'}.\n`);
  return 0;
}
