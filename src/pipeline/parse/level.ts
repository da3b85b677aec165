/**
 * Log levels, normalised to the four the pipeline knows: error, warn, info,
 * debug. fatal, critical, alert, emergency, panic and severe count as error;
 * notice as info; trace and verbose as debug.
 */
export type Level = 'error' | 'warn' | 'info' | 'debug';

const WORDS = new Map<string, Level>(Object.entries({
  error: 'error', err: 'error', eror: 'error', fatal: 'error', crit: 'error', critical: 'error',
  alert: 'error', emerg: 'error', emergency: 'error', panic: 'error', severe: 'error', failure: 'error',
  warn: 'warn', warning: 'warn', wrn: 'warn',
  info: 'info', information: 'info', informational: 'info', notice: 'info', inf: 'info',
  debug: 'debug', dbg: 'debug', trace: 'debug', verbose: 'debug', fine: 'debug', finer: 'debug', finest: 'debug',
} as Record<string, Level>));

const LETTERS = new Map<string, Level>(Object.entries({ e: 'error', f: 'error', c: 'error', w: 'warn', i: 'info', n: 'info', d: 'debug', t: 'debug', v: 'debug' } as Record<string, Level>));

/** A level word in any case (`ERROR`, `Warning`, `eror`), or null. Single letters only when `letters` (JSON fields such as Serilog's `@l`). */
export function levelFromWord(w: string, letters = false): Level | null {
  if (w.length === 0 || w.length > 13) return null;
  const lower = w.toLowerCase();
  const v = WORDS.get(lower);
  if (v !== undefined) return v;
  if (letters && lower.length === 1) return LETTERS.get(lower) ?? null;
  return null;
}

/**
 * A numeric level: syslog severities 0-7 (journald's PRIORITY), or the
 * bunyan/pino scale (10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal).
 */
export function levelFromNumber(n: number): Level | null {
  if (!Number.isFinite(n) || n < 0) return null;
  if (n <= 7) return n <= 3 ? 'error' : n === 4 ? 'warn' : n <= 6 ? 'info' : 'debug';
  if (n >= 50) return 'error';
  if (n >= 40) return 'warn';
  if (n >= 30) return 'info';
  if (n >= 10) return 'debug';
  return null;
}

/** A level from a JSON value: a word, a number, or a string of digits. */
export function levelFromValue(v: unknown): Level | null {
  if (typeof v === 'number') return levelFromNumber(v);
  if (typeof v === 'string') {
    const t = v.trim();
    if (t !== '' && t.length <= 2 && /^\d+$/.test(t)) return levelFromNumber(Number(t));
    return levelFromWord(t, true);
  }
  return null;
}
