/**
 * How every CLI command writes and ends, so scripts and people get the same
 * contract from each (README "Command line"):
 *
 * - Exit codes: 0 ok, 1 failure, 2 usage or configuration (EXIT).
 * - A command's action returns its exit code; `cliAction` reports a thrown
 *   error (a ConfigError or CliError as 2 or its own code, anything else as
 *   1), then flushes stdout and stderr before the process exits, so output
 *   sent to a pipe is never cut off by an exit.
 * - With --json a failure is one JSON object on stdout,
 *   `{"ok": false, "exit_code": n, "errors": [{"path"?, "message"}]}`, and
 *   nothing on stderr; without, readable lines on stderr.
 * - A reader that goes away (`| head -1`, EPIPE on stdout or stderr) ends the
 *   process at once and quietly, with the exit code set so far (0 unless the
 *   command had already failed): the reader chose to stop reading, so under
 *   `set -o pipefail` a pipeline into head does not fail.
 */
import type { Writable } from 'node:stream';
import { ConfigError } from '../config/errors.js';
import { describe } from '../errors.js';
import { RuleLoadError } from '../pipeline/triage/load.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** The help epilogue that documents the exit codes (every command shows it). */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  failure (a check failed, the daemon refused or failed, some item failed)
  2  bad usage or invalid configuration
A reader that stops early (| head) ends the command quietly with the status so far.
--json prints failures as JSON on stdout too: {"ok": false, "exit_code": n, "errors": [{"path", "message"}]}.`;

/** One problem: the configuration key, option or file it concerns (when there is one) and what is wrong. */
export interface ErrorItem {
  path?: string;
  message: string;
}

/** A command failure with its exit code; `message` is what a person reads, `errors` what --json prints. */
export class CliError extends Error {
  readonly errors: ErrorItem[];
  constructor(
    message: string,
    readonly code: number = EXIT.failure,
    errors?: ErrorItem[],
  ) {
    super(message);
    this.name = 'CliError';
    this.errors = errors ?? [{ message }];
  }
}

/** `path: message` lines (ConfigError's, config check's) as items; a line without a path prefix is a message alone. */
export function errorItems(lines: readonly string[]): ErrorItem[] {
  return lines.map((l) => {
    const m = /^([^\s:]+(?:\[\d+\])*(?:\.[^\s:]+)*|\([a-z]+\)): (.*)$/s.exec(l);
    return m ? { path: m[1]!, message: m[2]! } : { message: l };
  });
}

/** Writes `text`, waiting for the stream to drain when it asks to (a slow pipe never makes the process buffer a whole log). */
export function writeOut(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(text)) return resolve();
    const onDrain = () => {
      out.off('error', onError);
      resolve();
    };
    const onError = (e: Error) => {
      out.off('drain', onDrain);
      reject(e);
    };
    out.once('drain', onDrain);
    out.once('error', onError);
  });
}

/**
 * Batches many small writes into 64 KiB chunks, each awaited for backpressure:
 * the writer of a command whose output is one line per input line.
 */
export function bufferedWriter(out: Writable): { write(s: string): Promise<void>; end(): Promise<void> } {
  let buf = '';
  return {
    async write(s) {
      buf += s;
      if (buf.length >= 1 << 16) {
        const b = buf;
        buf = '';
        await writeOut(out, b);
      }
    },
    async end() {
      if (buf.length > 0) {
        const b = buf;
        buf = '';
        await writeOut(out, b);
      }
    },
  };
}

/** Resolves once everything written to `out` so far has been handed to the system. */
function flushed(out: NodeJS.WriteStream): Promise<void> {
  if (out.destroyed || out.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => out.write('', () => resolve()));
}

/** Flushes stdout and stderr, then exits with `code`. */
export async function exitAfterFlush(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

let epipeInstalled = false;
/** A closed stdout or stderr (EPIPE) ends the process quietly with the exit code so far; other write errors are reported as failures. */
export function installPipeHandlers(): void {
  if (epipeInstalled) return;
  epipeInstalled = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      // stderr may be what failed: nothing left to report on either way.
      process.exit(e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED' ? (typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok) : EXIT.failure);
    });
  }
}

/** Prints a failure as the command's output style asks and returns its exit code. */
export function reportFailure(e: unknown, json: boolean, out: Writable = process.stdout, err: Writable = process.stderr): number {
  let code: number;
  let errors: ErrorItem[];
  let text: string;
  if (e instanceof CliError) {
    ({ code, errors } = e);
    text = e.message;
  } else if (e instanceof ConfigError) {
    code = EXIT.usage;
    errors = errorItems(e.lines);
    text = `invalid configuration:\n${e.lines.map((l) => `  ${l}`).join('\n')}`;
  } else if (e instanceof RuleLoadError) {
    code = EXIT.usage;
    errors = errorItems(e.lines);
    text = `invalid rules:\n${e.lines.map((l) => `  ${l}`).join('\n')}`;
  } else {
    code = EXIT.failure;
    text = describe(e);
    errors = [{ message: text }];
  }
  if (json) out.write(JSON.stringify({ ok: false, exit_code: code, errors }) + '\n');
  else err.write(`haproxy-manager: ${text}\n`);
  return code;
}

/**
 * Wraps a commander action: the action returns its exit code (undefined: it
 * keeps running, the daemon); a thrown error is reported (JSON when the
 * command's --json is set); then output is flushed and the process exits.
 */
export function cliAction<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined> | number | undefined): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const cmd = args[args.length - 1] as { opts(): Record<string, unknown> };
    const json = cmd.opts().json === true;
    let code: number | undefined;
    try {
      code = await fn(...args);
    } catch (e) {
      code = reportFailure(e, json);
    }
    if (code !== undefined) await exitAfterFlush(code);
  };
}

/** Writes one JSON document (pretty, newline-terminated). */
export function printJson(value: unknown, out: Writable = process.stdout): Promise<void> {
  return writeOut(out, JSON.stringify(value, null, 2) + '\n');
}
