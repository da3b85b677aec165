/**
 * haproxy.cfg as HAProxy reads it: lines, words and sections, with the file
 * and line number of each line kept for the import report.
 *
 * Contract (pure, no I/O):
 * - A line is split into words on spaces and tabs. `#` outside quotes starts
 *   a comment. Double quotes group a word and take backslash escapes; single
 *   quotes group a word verbatim; outside quotes a backslash escapes the next
 *   character (`\ `, `\#`, `\\`, `\"`, `\'`), and `\t`, `\n`, `\r`, `\xHH`
 *   are the characters they name, as HAProxy's parser does.
 * - `$VAR` / `${VAR}` inside double quotes is an environment variable
 *   HAProxy expands at start (outside them `$` is literal, as in a crypt hash); the importer cannot know its value, so the line
 *   is marked `env` (never expanded, never taken literally).
 * - A line HAProxy would refuse (an unterminated quote, a bad escape) is
 *   marked with `error`, never guessed at.
 * - CRLF line ends are accepted (the CR belongs to the line end).
 */

export interface CfgLine {
  file: string;
  /** 1-based. */
  line: number;
  /** The line as written, without its line end, leading and trailing blanks. */
  text: string;
  words: string[];
  /** The line uses an environment variable the importer cannot expand. */
  env: boolean;
  /** Why HAProxy would not read this line; null when it would. */
  error: string | null;
}

export interface Section {
  /** global, defaults, frontend, backend, listen, userlist, or any other keyword that opens a section. */
  kind: string;
  /** The section's name ('' for global and an unnamed defaults). */
  name: string;
  /** The line that opens it. */
  header: CfgLine;
  /** Its lines, the header excluded. */
  lines: CfgLine[];
}

/** Keywords that open a section (HAProxy 2.6 to 3.0). */
export const SECTION_KEYWORDS = new Set([
  'global', 'defaults', 'frontend', 'backend', 'listen', 'userlist', 'peers', 'resolvers', 'mailers', 'program', 'http-errors', 'ring', 'cache',
  'log-forward', 'crt-store', 'traces', 'fcgi-app', 'dynamic-update', 'uuid',
]);

/** One line into words; `null` words for a blank or comment-only line. */
export function splitLine(raw: string): { words: string[]; env: boolean; error: string | null } {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let env = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
      continue;
    }
    if (c === '\\') {
      const n = raw[i + 1];
      if (n === undefined) return { words, env, error: 'a backslash ends the line' };
      i++;
      inWord = true;
      if (n === 't') cur += '\t';
      else if (n === 'n') cur += '\n';
      else if (n === 'r') cur += '\r';
      else if (n === 'x') {
        const hex = raw.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) return { words, env, error: `a bad \\x escape at column ${i}` };
        cur += String.fromCharCode(parseInt(hex, 16));
        i += 2;
      } else cur += n;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else {
        if (c === '$' && /[A-Za-z_{]/.test(raw[i + 1] ?? '')) env = true;
        cur += c;
      }
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
      continue;
    }
    if (c === '#') break;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (quote) return { words, env, error: `an unterminated ${quote === '"' ? 'double' : 'single'} quote` };
  if (inWord) words.push(cur);
  return { words, env, error: null };
}

/** Every line that holds words (blank and comment-only lines are left out), numbered from 1. */
export function tokenize(text: string, file: string): CfgLine[] {
  const out: CfgLine[] = [];
  const raw = text.split('\n');
  // A final newline ends the last line; it does not open another.
  if (raw.length && raw[raw.length - 1] === '') raw.pop();
  for (const [i, l0] of raw.entries()) {
    const l = l0.endsWith('\r') ? l0.slice(0, -1) : l0;
    const { words, env, error } = splitLine(l);
    if (!words.length && !error) continue;
    out.push({ file, line: i + 1, text: l.trim(), words, env, error });
  }
  return out;
}

/** The lines grouped by section; lines before the first section header form a section of kind ''. */
export function sections(lines: CfgLine[]): Section[] {
  const out: Section[] = [];
  let cur: Section | null = null;
  for (const l of lines) {
    const kw = l.words[0];
    if (!l.error && kw !== undefined && SECTION_KEYWORDS.has(kw)) {
      cur = { kind: kw, name: l.words[1] ?? '', header: l, lines: [] };
      out.push(cur);
      continue;
    }
    if (!cur) {
      cur = { kind: '', name: '', header: l, lines: [] };
      out.push(cur);
    }
    cur.lines.push(l);
  }
  return out;
}
