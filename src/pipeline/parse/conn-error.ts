/**
 * HAProxy's connection-level errors, logged before any request exists:
 *   `1.2.3.4:5678 [25/Nov/2026:14:00:00.123] web/3: SSL handshake failure`
 *   `... fe/192.168.5.100:443: SSL handshake failure (error:0A000416:SSL routines::sslv3 alert certificate unknown)`
 *   `... fe/https-main: Timeout during SSL handshake`, `... Received something which does not look like a PROXY protocol header`
 * kind 'conn_error'. Fields: client_ip, client_port, accept_date, frontend,
 * bind (the listener's name, or its number), error (HAProxy's message without
 * the parenthesised detail), ssl_error (that detail, when the error is a TLS
 * one; 3.0+ adds OpenSSL's reason), error_detail (the detail of a non-TLS error).
 */
import type { Fields, ParsedLine } from '../types.js';

/** `fe/bind:` spans s[i, end); the message follows. */
export function parseConnError(s: string, i: number, end: number, f: Fields, time: number): ParsedLine {
  const slash = s.indexOf('/', i);
  f.frontend = s.slice(i, slash);
  f.bind = s.slice(slash + 1, end - 1);
  let msg = s.slice(end).trim();
  let detail: string | null = null;
  if (msg.charCodeAt(msg.length - 1) === 41) {
    const open = msg.indexOf(' (');
    if (open > 0) {
      detail = msg.slice(open + 2, -1);
      msg = msg.slice(0, open);
    }
  } else {
    // A detail cut by the line length limit: `... failure (error:0A00`.
    const open = msg.indexOf(' (');
    if (open > 0) {
      detail = msg.slice(open + 2);
      msg = msg.slice(0, open);
    }
  }
  f.error = msg;
  if (detail !== null && detail !== '') {
    if (msg.indexOf('SSL') >= 0 || msg.indexOf('TLS') >= 0 || detail.startsWith('error:')) f.ssl_error = detail;
    else f.error_detail = detail;
  }
  return { ok: true, kind: 'conn_error', time, fields: f };
}
