/**
 * `option httplog clf`, after `%ci - - [%trg]`:
 *   `"%r" %ST %B "" "" %cp %ms "%ft" "%b" "%s" %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq "%CC" "%CS" %hrl %hsl`
 * e.g. `127.0.0.1 - - [25/Nov/2026:15:21:29 +0000] "GET /a?b=1 HTTP/1.1" 200 142 "" "" 37182 819 "clf" "app" "s1" 0 0 0 1 1 ---- 1 1 0 0 0 0 0 "" "" "example.com" "curl/8.0"`
 * Same field names as httplog. CLF writes request and response captures as
 * one run of quoted words, so all of them are captured_request_headers, and
 * host/user_agent follow http-request.ts's rules over that list.
 * The client port is in the line (%cp); the date has seconds only and its own offset.
 *
 * The same shape is the web servers' common and combined formats
 * (`%h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i"`), so the two
 * quoted words after the size are read as referer and user_agent when they
 * say something (not empty, not `-`); HAProxy's CLF leaves them empty and
 * its captures follow. In those two words a backslash escapes the next
 * character (Apache writes `"` as `\"`), so an escaped quote followed by a
 * space does not end the word; everywhere else a word ends at the first
 * quote followed by a space, as HAProxy writes (it has no backslash escapes).
 *
 * The first word is the client address alone: a bare IPv6 address
 * (`2001:db8::1:5`) has no port, its last group is part of it; only
 * `[v6]:port` and `v4:port` carry one (clfClient).
 */
import type { Fields, ParsedLine } from '../types.js';
import { setCaptures, setRequest } from './http-request.js';
import { intIn, skipSpaces, splitHostPort, tokenEnd } from './scan.js';

/** CLF's first word as [address, port or null]: a port only in `[v6]:port` or `v4:port` (one colon). */
export function clfClient(tok: string): [string, number | null] {
  if (tok.charCodeAt(0) === 91) return splitHostPort(tok);
  const colon = tok.indexOf(':');
  if (colon < 0 || tok.indexOf(':', colon + 1) >= 0) return [tok, null];
  return splitHostPort(tok);
}

/**
 * A combined-format quoted header value: absent when empty or `-`. The web
 * servers write a `"` inside it as `\"` and a backslash as `\\`; those two
 * escapes are the format's, not the client's, and are undone (other
 * backslash sequences such as Apache's `\xhh` stay as logged).
 */
function headerWord(w: Word | undefined): string | null {
  if (w === undefined || !w.quoted || w.text === '' || w.text === '-') return null;
  return w.text.includes('\\') ? w.text.replace(/\\(["\\])/g, '$1') : w.text;
}

interface Word {
  text: string;
  quoted: boolean;
}

/** True at a closing quote: a `"` followed by a space, a tab or the end of the line. */
function closes(s: string, j: number): boolean {
  if (s.charCodeAt(j) !== 34) return false;
  const c = s.charCodeAt(j + 1);
  return j + 1 >= s.length || c === 32 || c === 9;
}

/** The first closing quote from `from` on (the line's length when none): no escapes, as HAProxy writes (`"` is `#22`). */
function plainEnd(s: string, from: number): number {
  for (let j = s.indexOf('"', from); j >= 0; j = s.indexOf('"', j + 1)) if (closes(s, j)) return j;
  return s.length;
}

/**
 * The closing quote of a combined-format header word (the Referer and the
 * User-Agent, words 3 and 4), whose text starts at `from`: a backslash
 * escapes the next character there, so `\" ` inside the value (Apache's
 * escape for a quote) does not end it. Only those two words: HAProxy's CLF
 * leaves them empty (`""`) and writes its own words without backslash
 * escapes, so a request or a capture that ends in a backslash must still end
 * at its quote. When no escape-aware closing quote is left on the line, the
 * plain rule decides.
 */
function headerEnd(s: string, from: number): number {
  const n = s.length;
  for (let j = from; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34 && closes(s, j)) return j;
  }
  return plainEnd(s, from);
}

function words(s: string, i: number, max: number): Word[] {
  const out: Word[] = [];
  const n = s.length;
  while (i < n && out.length < max) {
    if (s.charCodeAt(i) === 34) {
      const end = out.length === 3 || out.length === 4 ? headerEnd(s, i + 1) : plainEnd(s, i + 1);
      out.push({ text: s.slice(i + 1, end), quoted: true });
      i = skipSpaces(s, end + 1);
    } else {
      const end = tokenEnd(s, i);
      out.push({ text: s.slice(i, end), quoted: false });
      i = skipSpaces(s, end);
    }
  }
  return out;
}

function num(w: Word | undefined): number | null {
  if (w === undefined || w.quoted) return null;
  return intIn(w.text, 0, w.text.length);
}

export function parseClfRest(s: string, i: number, f: Fields, time: number): ParsedLine | null {
  const w = words(s, i, 64);
  const req = w[0];
  if (req === undefined || !req.quoted) return null;
  const status = num(w[1]);
  if (status === null) return null;
  const bytes = num(w[2]);
  // w[3], w[4]: the combined format's referer and user agent (empty in HAProxy's CLF).
  const referer = headerWord(w[3]);
  const ua = headerWord(w[4]);
  if (referer !== null) f.referer = referer;
  if (ua !== null) f.user_agent = ua;
  const port = num(w[5]);
  if (port !== null) f.client_port = port;
  const fe = w[7];
  if (fe !== undefined) {
    const tls = fe.text.endsWith('~');
    f.frontend = tls ? fe.text.slice(0, -1) : fe.text;
    if (tls) f.tls = true;
  }
  if (w[8] !== undefined) f.backend = w[8].text;
  if (w[9] !== undefined) f.server = w[9].text;
  const tm = [num(w[10]), num(w[11]), num(w[12]), num(w[13]), num(w[14])];
  if (tm.every((x) => x !== null)) f.timers = { TR: tm[0], Tw: tm[1], Tc: tm[2], Tr: tm[3], Ta: tm[4] };
  f.status = status;
  if (bytes !== null) f.bytes_read = bytes;
  if (w[15] !== undefined && !w[15].quoted) f.termination_state = w[15].text;
  const cn = [num(w[16]), num(w[17]), num(w[18]), num(w[19]), num(w[20]), num(w[21]), num(w[22])];
  if (cn.every((x) => x !== null)) {
    f.actconn = cn[0];
    f.feconn = cn[1];
    f.beconn = cn[2];
    f.srv_conn = cn[3];
    f.retries = cn[4];
    f.srv_queue = cn[5];
    f.backend_queue = cn[6];
  }
  const cc = w[23]?.text;
  const cs = w[24]?.text;
  if (cc !== undefined && cc !== '' && cc !== '-') f.captured_request_cookie = cc;
  if (cs !== undefined && cs !== '' && cs !== '-') f.captured_response_cookie = cs;
  if (w.length > 25) {
    const caps = w.slice(25).map((x) => x.text);
    setCaptures(f, caps.join('|'), undefined, true);
  }
  const authority = setRequest(f, req.text, false);
  if (authority !== null && f.host === undefined) f.host = authority;
  return { ok: true, kind: 'http', time, fields: f };
}
