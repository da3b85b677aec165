/**
 * The daemon's own log: one line per event on stdout/stderr, for journald.
 *
 * Contract:
 * - A line is `<message> key=value key=value`, the readable message first.
 * - Under systemd (JOURNAL_STREAM set) each line starts with a syslog priority
 *   prefix (`<2>` crit, `<3>` error, `<4>` warning, `<5>` notice, `<6>` info,
 *   `<7>` debug) so that `journalctl -u haproxy-manager -p warning` shows what
 *   went wrong and nothing else. What each level is for:
 *   crit: a critical incident opened; error: the daemon or HAProxy failed, a
 *   high incident; warn: something degraded (a fallback, a medium incident,
 *   HAProxy's own [WARNING]/[ALERT] lines); notice: an action done to traffic
 *   (a change applied, a block, a reload), a low incident; info: routine, and a
 *   client's mistake (a 4xx); debug: detail.
 * - With format "json" each line is one JSON object instead.
 * - Values of keys that look like secrets are never printed.
 */

export type Level = 'debug' | 'info' | 'notice' | 'warn' | 'error' | 'crit';
export type Fields = Record<string, unknown>;

const PRIORITY: Record<Level, number> = { crit: 2, error: 3, warn: 4, notice: 5, info: 6, debug: 7 };
const ORDER: Record<Level, number> = { debug: 10, info: 20, notice: 25, warn: 30, error: 40, crit: 50 };
const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|authorization|private[_-]?key)/i;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  /** An action done to traffic (journald priority 5). */
  notice(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A critical incident (journald priority 2). */
  crit(msg: string, fields?: Fields): void;
  /** A logger whose lines all carry `fields` (a unit name, a reload id...). */
  child(fields: Fields): Logger;
}

export interface LogOptions {
  level: Level;
  format: 'text' | 'json';
  /** Prefix lines with `<N>`; defaults to whether JOURNAL_STREAM is set. */
  priorityPrefix?: boolean;
  /** Where lines go; defaults to stdout for info/debug, stderr for warn/error. */
  write?: (level: Level, line: string) => void;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) v = v.message;
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s === undefined) return '';
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s;
}

function scrub(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : v instanceof Error ? v.message : v;
  }
  return out;
}

export function createLogger(opts: LogOptions, base: Fields = {}): Logger {
  const prefix = opts.priorityPrefix ?? Boolean(process.env.JOURNAL_STREAM);
  const write =
    opts.write ??
    ((level: Level, line: string) => {
      (ORDER[level] >= ORDER.warn ? process.stderr : process.stdout).write(line + '\n');
    });
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (ORDER[level] < ORDER[opts.level]) return;
    const all = scrub({ ...base, ...fields });
    // A message is one line: a newline from HAProxy's output must not forge a log line.
    const oneLine = msg.replace(/\r?\n/g, ' | ');
    let line: string;
    if (opts.format === 'json') {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg: oneLine, ...all });
    } else {
      const kv = Object.entries(all)
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(' ');
      line = kv ? `${oneLine} ${kv}` : oneLine;
    }
    write(level, prefix ? `<${PRIORITY[level]}>${line}` : line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    notice: (m, f) => emit('notice', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    crit: (m, f) => emit('crit', m, f),
    child: (f) => createLogger(opts, { ...base, ...f }),
  };
}

/** A logger that drops everything (CLI commands that print their own output, tests). */
export const silentLogger: Logger = createLogger({ level: 'error', format: 'text', write: () => {} });
