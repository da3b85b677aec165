/**
 * logfmt (`t=2026-11-25T14:00:00+0000 lvl=eror msg="Invalid password" user=bob`),
 * as Grafana, Heroku, Go's slog text handler and many others write it.
 * Contract: returns the key/value pairs when the whole line is logfmt (at
 * least two pairs, every word a pair), else null. Never throws.
 */

const MAX_PAIRS = 100;

function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45 || c === 64;
}

export function parseLogfmt(s: string, i: number): Record<string, string> | null {
  const out: Record<string, string> = {};
  const n = s.length;
  let pairs = 0;
  while (i < n) {
    while (s.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    const ks = i;
    while (i < n && isKeyChar(s.charCodeAt(i))) i++;
    if (i === ks || s.charCodeAt(i) !== 61) return null;
    const key = s.slice(ks, i);
    i++;
    let val: string;
    if (s.charCodeAt(i) === 34) {
      let j = i + 1;
      let buf = '';
      let from = j;
      for (; j < n; j++) {
        const c = s.charCodeAt(j);
        if (c === 92 && j + 1 < n) {
          buf += s.slice(from, j);
          const e = s[j + 1] as string;
          buf += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j++;
          from = j + 1;
        } else if (c === 34) break;
      }
      val = buf + s.slice(from, j);
      i = j + 1;
    } else {
      const vs = i;
      while (i < n && s.charCodeAt(i) !== 32) i++;
      val = s.slice(vs, i);
    }
    if (key !== '__proto__' && key !== 'constructor' && key !== 'prototype') out[key] = val;
    if (++pairs > MAX_PAIRS) break;
  }
  return pairs >= 2 ? out : null;
}
