/**
 * Judging HAProxy's replies, in one place. HAProxy reports errors as text,
 * never as a status: a mutation succeeds with nothing, or a short
 * confirmation (`Done.`, `Success!`, `Transaction created ...`); anything else
 * is an error. Callers that can read their change back still do: an empty
 * reply is necessary, not sufficient.
 */
import { RuntimeError } from './client.js';

/** HAProxy's error texts (stats socket and master CLI, 2.6 and 3.0). */
const ERROR_MARKERS = [
  /^Unknown command/m,
  /^Unknown map identifier/im,
  /^Unknown ACL identifier/im,
  /^Key not found/im,
  /^Can't /m,
  /^Cannot /m,
  /^Unable to /m,
  /^Missing /m,
  /^'[^']+' requires /m,
  /^No such /m,
  /^Permission denied/m,
  /^Require /m,
  /^\[\d+\]: /m,
  // Words that mark an error anywhere in a longer answer (the ssl commands' multi-line replies).
  /\b(can't|cannot|unable|unknown|failed|error)\b|not found|doesn't exist/i,
];

/** The confirmations a mutation answers with when no specific one is expected. */
const SUCCESS_SHAPES = [/^$/, /^Done\.$/, /^Success!$/, /^Transaction (created|committed|updated)/];

/** True when a mutation's reply is an error (anything but nothing or a known confirmation). */
export function isErrorReply(reply: string): boolean {
  const t = reply.trim();
  if (SUCCESS_SHAPES.some((re) => re.test(t))) return false;
  return ERROR_MARKERS.some((re) => re.test(t)) || t.length > 0;
}

/** True when `reply` is HAProxy's "no such key" answer (a delete of an absent key). */
export const isKeyNotFound = (reply: string) => /^Key not found/im.test(reply);

/** True when `reply` says HAProxy does not know the map, ACL or command named. */
export const isUnknownTarget = (reply: string) => /^Unknown (map|ACL) identifier/im.test(reply) || /^Unknown command/m.test(reply);

/**
 * Checks the reply to `cmd`: with `expected`, the reply must show it and
 * nothing else may read as an error; without, it must be a known success
 * shape. Throws RuntimeError naming the command (its payload cut off) otherwise.
 */
export function expectSuccess(cmd: string, reply: string, expected?: RegExp): string {
  const ok = expected === undefined ? !isErrorReply(reply) : expected.test(reply) && !ERROR_MARKERS.some((re) => re.test(reply.replace(expected, '')));
  if (!ok) throw new RuntimeError(`HAProxy refused "${cmd.split(' <<')[0]}": ${reply.trim().slice(0, 300) || '(no answer)'}`, reply);
  return reply;
}
