/**
 * The one check every string taken from outside goes through (API fields,
 * query parameters, config strings): a string is accepted exactly as written
 * or refused, never trimmed or cleaned. Refused, with the reason naming the
 * first offending character:
 *  - C0 control characters U+0000-U+001F (tab, CR and LF included) and DEL U+007F;
 *  - C1 control characters U+0080-U+009F;
 *  - the line and paragraph separators U+2028 / U+2029;
 *  - bidirectional controls: U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069;
 *  - leading or trailing whitespace (anything String.prototype.trim would remove).
 * What passes can neither end a line of a config file, a runtime command or a
 * log line, nor display differently from what it holds.
 */
import { z } from 'zod';
import { validationError } from '../errors.js';

const hex = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

/** What kind of forbidden character `c` (a UTF-16 code unit) is, or null when it is allowed. */
function forbiddenKind(c: number): string | null {
  if (c <= 0x1f || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return 'a control character';
  if (c === 0x2028 || c === 0x2029) return 'a line or paragraph separator';
  if (c === 0x061c || c === 0x200e || c === 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return 'a bidirectional control character';
  return null;
}

/**
 * Why `s` cannot be taken as written ("contains a control character (U+000A)",
 * "has leading whitespace (U+0020)"), or null when it can. Control characters
 * are reported before surrounding whitespace: "a\n" names the U+000A.
 */
export function textProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const kind = forbiddenKind(c);
    if (kind) return `contains ${kind} (${hex(c)})`;
  }
  if (s.length > 0 && s.trimStart().length !== s.length) return `has leading whitespace (${hex(s.charCodeAt(0))})`;
  if (s.length > 0 && s.trimEnd().length !== s.length) return `has trailing whitespace (${hex(s.charCodeAt(s.length - 1))})`;
  return null;
}

/**
 * The check for a field that holds a whole document (a configuration file's
 * text): lines may end in LF or CRLF and hold tabs, and leading or trailing
 * whitespace is part of a document; every other character textProblem
 * refuses is still refused (NUL, other control characters, line separators,
 * bidi controls), with its code point.
 */
export function documentProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || (c === 0x0d && s.charCodeAt(i + 1) === 0x0a)) continue;
    const kind = forbiddenKind(c);
    if (kind) return `contains ${kind} (${hex(c)})${c === 0x0d ? ' not followed by a line feed' : ''}`;
  }
  return null;
}

/** `s` unchanged when textProblem finds nothing; otherwise a validation error naming `field` and the reason. */
export function checkText(s: string, field: string): string {
  const problem = textProblem(s);
  if (problem !== null) throw validationError(field, problem);
  return s;
}

/**
 * The same check for zod schemas (config files): `safeText()` is a z.string()
 * that textProblem accepts; chain further checks (.min, .regex) on it.
 */
export const safeText = () =>
  z.string().superRefine((s, ctx) => {
    const problem = textProblem(s);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Where in a JSON value the first string textProblem refuses sits (`servers[1].name`), and why; null when none does. */
export interface JsonTextProblem {
  /** The field's path; a bad field *name* is reported at the object holding it ('(body)' at the top). */
  path: string;
  problem: string;
}

const MAX_KEY_IN_PATH = 40;

const childPath = (parent: string, key: string | number) =>
  typeof key === 'number' ? `${parent}[${key}]` : parent === '' ? key.slice(0, MAX_KEY_IN_PATH) : `${parent}.${key.slice(0, MAX_KEY_IN_PATH)}`;

/**
 * Every string of a parsed JSON value, field names included, through
 * textProblem (documentProblem for the paths `isDocument` names), in document order. Iterative, so no nesting depth can
 * overflow the stack.
 */
export function findJsonTextProblem(value: unknown, isDocument: (path: string) => boolean = () => false): JsonTextProblem | null {
  const stack: [string, unknown][] = [['', value]];
  while (stack.length) {
    const [path, v] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = isDocument(path) ? documentProblem(v) : textProblem(v);
      if (problem !== null) return { path: path || '(body)', problem };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([childPath(path, i), v[i]]);
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (const k of keys) {
        const problem = textProblem(k);
        if (problem !== null) return { path: path || '(body)', problem: `has a field name that ${problem}` };
      }
      for (let i = keys.length - 1; i >= 0; i--) stack.push([childPath(path, keys[i]!), (v as Record<string, unknown>)[keys[i]!]]);
    }
  }
  return null;
}
