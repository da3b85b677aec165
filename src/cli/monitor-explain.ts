/**
 * `haproxy-manager monitor explain <file|-> [--json] [--format haproxy|json|text]`:
 * shows, line by line, how the pipeline sees a log: the kind of line, the
 * parsed fields, and which rules it matched (like `cscli explain` or
 * `fail2ban-regex`).
 *
 * Contract:
 * - With --json: one JSON object per input line, in input order, one per
 *   output line: `{"line", "raw", "ok", "kind", "time", "fields", "rules",
 *   "signatures"}`
 *   where line is the 1-based input line number, raw the line as read
 *   (without its line terminator), time is
 *   the line's own time as ISO 8601 (or null), fields follow types.ts's
 *   names, rules lists the names of the rules the line matched (`[]`
 *   without a rules function) and signatures the signature entries behind
 *   the signature rules among them (`{rule, id, family, cve?, product}`,
 *   monitor/explain.ts). A rules function that throws gives `rules: []`
 *   and `rules_error`.
 * - Without: a readable block per input line (`#n kind  summary`, then the
 *   fields and the rules, a signature rule followed by the entries it
 *   matched in brackets), then a summary line. Text from the log is shown
 *   with control characters escaped, so a hostile line cannot drive the
 *   terminal.
 * - Empty input lines are explained too (as unknown, reason 'empty'), so
 *   output line n is input line n.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SourceFormat } from '../pipeline/types.js';
import { ExplainSummary, explainLine, type RulesFn } from '../monitor/explain.js';
import { bufferedWriter } from './output.js';

export interface MonitorExplainOptions {
  /** A file path, or `-` for standard input. */
  input: string;
  json: boolean;
  format: SourceFormat;
  rules?: RulesFn;
  /** Where output goes (default: process.stdout, batched and waiting for a slow reader). */
  write?: (chunk: string) => void;
  /** Standard input (default: process.stdin), for tests. */
  stdin?: NodeJS.ReadableStream;
}

/**
 * Streams the input line by line (any size; invalid UTF-8 becomes U+FFFD)
 * and writes the explanation. Resolves with the counts; rejects when the
 * file cannot be read.
 */
export async function runMonitorExplain(o: MonitorExplainOptions): Promise<{ lines: number; unparsed: number; matched: number }> {
  const sink = o.write ? null : bufferedWriter(process.stdout);
  const write = o.write ?? ((c: string) => sink!.write(c));
  const input = o.input === '-' ? (o.stdin ?? process.stdin) : createReadStream(o.input, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  const sum = new ExplainSummary();
  let n = 0;
  for await (const line of rl) {
    const r = explainLine(line, o.format, o.rules, ++n);
    sum.add(r.json);
    await write(o.json ? JSON.stringify({ line: n, raw: line, ...r.json }) + '\n' : r.text + '\n');
  }
  if (!o.json) await write(`${sum.toString()}\n`);
  await sink?.end();
  let unparsed = 0;
  for (const v of sum.reasons.values()) unparsed += v;
  return { lines: sum.lines, unparsed, matched: sum.matched };
}
