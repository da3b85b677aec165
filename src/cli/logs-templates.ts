/**
 * `haproxy-manager logs templates <file|-> [--json]`: runs the novel-error
 * clusterer alone over a log file, one message per line, and shows what it
 * learned. One template per log statement: unlike the daemon, which keeps a
 * word variant (`link up` / `link down`) apart as worth a look, it folds a
 * word that varies into a value once all lines are seen. Only the line terminator (`\n`, or `\r\n`) is stripped; a line is
 * clustered as it is, and invalid UTF-8 becomes U+FFFD.
 *
 * Without --json: a table of the templates, most frequent first, with their
 * count and an example line each, then a summary line.
 * With --json: one object per input line, in input order,
 * `{"group": "<template id>", "template": "..."}`, where the template is the
 * FINAL template of the line's group (after all lines are seen) and lines of
 * one group carry the same id.
 *
 * Memory: the clusterer's templates plus 4 bytes per line (the line's group).
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import { createGrouper, type Grouping } from '../pipeline/clustering/group.js';
import type { MinerOptions } from '../pipeline/clustering/drain.js';
import { writeOut } from './output.js';

export interface LogsTemplatesOptions {
  json?: boolean;
  /** Miner options (tests, experiments); the defaults are the grouper's (../pipeline/clustering/group.ts). */
  miner?: Omit<MinerOptions, 'onEvict'>;
}

export interface LogsTemplatesIo {
  stdout?: Writable;
  stderr?: Writable;
  /** Read for `-`. */
  stdin?: Readable;
}

/** Feeds every line of `input` to `onLine`: split on `\n`, one trailing `\r` stripped, a last unterminated line kept. */
export async function readLines(input: Readable, onLine: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const emit = (text: string, final: boolean, from: number) => {
    let start = 0;
    let nl: number;
    // `from`: the carried-over part holds no newline, so the search starts after it.
    let at = from;
    while ((nl = text.indexOf('\n', at)) >= 0) {
      at = nl + 1;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      onLine(text.slice(start, end));
      start = nl + 1;
    }
    rest = text.slice(start);
    if (final && rest.length > 0) {
      onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
      rest = '';
    }
  };
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    emit(rest + text, false, rest.length);
  }
  emit(rest + decoder.end(), true, rest.length);
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/[\x00-\x1f\x7f]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

async function printJson(out: Writable, g: Grouping): Promise<void> {
  let buf = '';
  for (let i = 0; i < g.lines; i++) {
    buf += JSON.stringify({ group: g.groupOf(i), template: g.templateOf(i) }) + '\n';
    if (buf.length > 1 << 16) {
      await writeOut(out, buf);
      buf = '';
    }
  }
  if (buf.length > 0) await writeOut(out, buf);
}

async function printTable(out: Writable, g: Grouping): Promise<void> {
  const width = Math.max(5, String(g.groups[0]?.count ?? 0).length);
  const idWidth = Math.max(2, ...g.groups.map((t) => t.id.length));
  let buf = `${'ID'.padEnd(idWidth)}  ${'COUNT'.padStart(width)}  TEMPLATE\n`;
  const indent = ' '.repeat(idWidth + width + 4);
  for (const t of g.groups) {
    buf += `${t.id.padEnd(idWidth)}  ${String(t.count).padStart(width)}  ${oneLine(t.template, 300)}\n`;
    buf += `${indent}e.g. ${oneLine(t.example, 300)}\n`;
    if (buf.length > 1 << 16) {
      await writeOut(out, buf);
      buf = '';
    }
  }
  buf += `${g.lines} line${g.lines === 1 ? '' : 's'}, ${g.groups.length} template${g.groups.length === 1 ? '' : 's'}\n`;
  await writeOut(out, buf);
}

/**
 * Runs the command; returns the exit code (0 done, 1 the input could not be
 * read). `file` is a path, or `-` for standard input.
 */
export async function logsTemplates(file: string, opts: LogsTemplatesOptions = {}, io: LogsTemplatesIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const grouper = createGrouper(opts.miner);
  const input = file === '-' ? (io.stdin ?? process.stdin) : createReadStream(file);
  try {
    await readLines(input, (line) => grouper.add(line));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    await writeOut(stderr, `logs templates: cannot read ${file === '-' ? 'standard input' : file}: ${reason}\n`);
    return 1;
  }
  const g = grouper.finish();
  if (opts.json) await printJson(stdout, g);
  else await printTable(stdout, g);
  return 0;
}
