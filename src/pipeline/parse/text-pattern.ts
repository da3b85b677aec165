/**
 * Application text lines read with an operator's regular expression (a text
 * source with a `regex`). Named groups become fields; the groups `time`,
 * `level` and `message` (or `msg`) are normalised as in app-text.ts (time
 * to ISO 8601 and the line's time, level to error/warn/info/debug). Groups
 * that did not take part in the match are left out.
 *
 * Contract: compileTextPattern runs once at start-up and throws an Error
 * naming the problem when the expression is invalid or has no named group;
 * the function it returns never throws, and gives `unknown` with reason
 * 'pattern did not match' for a line the expression does not match.
 */
import type { Fields, ParsedLine } from '../types.js';
import { levelFromValue } from './level.js';
import { unknownLine } from './result.js';
import { isoString } from './time.js';
import { timeFromValue } from './text-time.js';

export type LineParser = (line: string, now?: number) => ParsedLine;

export function compileTextPattern(source: string, flags = ''): LineParser {
  let re: RegExp;
  try {
    re = new RegExp(source, flags.replace(/[gy]/g, ''));
  } catch (e) {
    throw new Error(`invalid regex: ${(e as Error).message}`, { cause: e });
  }
  if (!/\(\?<[A-Za-z_]\w*>/.test(source)) throw new Error('regex has no named group: name the parts, e.g. (?<level>\\w+) (?<message>.*)');
  return (line: string, now = Number.NaN): ParsedLine => {
    try {
      const m = re.exec(line);
      if (m === null || m.groups === undefined) return unknownLine('pattern did not match');
      const f: Fields = {};
      let time: number | null = null;
      for (const [k, v] of Object.entries(m.groups)) {
        if (v === undefined || k === '__proto__') continue;
        if (k === 'time' || k === 'timestamp') {
          time = timeFromValue(v, now);
          f.time = time === null ? v : isoString(time);
        } else if (k === 'level' || k === 'severity') {
          const lv = levelFromValue(v);
          if (lv !== null) f.level = lv;
        } else if (k === 'message' || k === 'msg') f.message = v;
        else f[k] = v;
      }
      if (f.message === undefined) f.message = line;
      return { ok: true, kind: 'app', time, fields: f };
    } catch {
      return unknownLine('parser error');
    }
  };
}
