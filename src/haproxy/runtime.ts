/**
 * HAProxy's runtime API over unix sockets: the stats socket (level admin) and
 * the master CLI.
 *
 * Contract:
 * - One command per connection; commands on one socket are serialized (a
 *   promise-chain mutex); every call has a timeout.
 * - HAProxy reports errors as text, never as a status: success is judged by
 *   the reply text, and every mutation helper reads its change back before it
 *   reports success (`RuntimeError` otherwise).
 * - A command can never chain another: a newline or ';' in a command (outside
 *   a `<<` payload) is refused before anything is sent.
 */
import { createConnection } from 'node:net';
import { AppError } from '../errors.js';

export class RuntimeError extends AppError {
  constructor(message: string, readonly reply?: string) {
    super('runtime', message, reply === undefined ? {} : { detail: { reply: reply.slice(0, 2000) } });
  }
}

export interface SocketClient {
  readonly path: string;
  /** Sends one command; `payload` lines follow a command ending in `<<` and are terminated by an empty line. */
  send(command: string, opts?: { payload?: string; timeoutMs?: number }): Promise<string>;
}

export function socketClient(path: string, timeoutMs: number): SocketClient {
  let chain: Promise<unknown> = Promise.resolve();
  const once = (command: string, payload: string | undefined, tmo: number) =>
    new Promise<string>((resolve, reject) => {
      const sock = createConnection({ path });
      let data = '';
      let settled = false;
      const done = (err: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(data);
      };
      const timer = setTimeout(() => done(new RuntimeError(`no answer from ${path} within ${tmo} ms to "${command.split(' ').slice(0, 3).join(' ')}"`)), tmo);
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        data += d;
      });
      sock.on('end', () => done(null));
      sock.on('close', () => done(null));
      sock.on('error', (e: NodeJS.ErrnoException) => done(new RuntimeError(`cannot talk to HAProxy at ${path}: ${e.code ?? e.message}`)));
      sock.on('connect', () => {
        // The master CLI answers only once the client half-closes; the stats socket does not mind.
        sock.end(payload === undefined ? `${command}\n` : `${command}\n${payload}\n\n`);
      });
    });
  return {
    path,
    send(command, opts = {}) {
      if (/[\r\n;]/.test(command) || command.length > 4096) {
        return Promise.reject(new RuntimeError('refusing to send a command containing a newline or ";"'));
      }
      if (opts.payload !== undefined && /\n\s*\n/.test(opts.payload)) {
        return Promise.reject(new RuntimeError('a runtime payload must not contain an empty line'));
      }
      const p = chain.then(() => once(command, opts.payload, opts.timeoutMs ?? timeoutMs));
      chain = p.catch(() => undefined);
      return p;
    },
  };
}

const ERROR_MARKERS = [
  /^Unknown command/m,
  /^Unknown map identifier/im,
  /^Unknown ACL identifier/im,
  /^Key not found/im,
  /^Can't /m,
  /^Unable to /m,
  /^Missing /m,
  /^'[^']+' requires /m,
  /^No such /m,
  /^Permission denied/m,
  /^Require /m,
  /^\[\d+\]: /m,
  /failed/i,
  /error/i,
];

/** True when a mutation's reply is an error (HAProxy answers success with nothing, or a short confirmation). */
export function isErrorReply(reply: string): boolean {
  const t = reply.trim();
  if (t === '' || t === 'Done.' || t === 'Success!' || /^Transaction (created|committed|updated)/.test(t)) return false;
  return ERROR_MARKERS.some((re) => re.test(t)) || t.length > 0;
}

/** Keys of `show map` / `show acl` output ("0x55... key [value]" per line). */
export function parseListDump(reply: string): string[] {
  const keys: string[] = [];
  for (const line of reply.split('\n')) {
    const m = /^0x[0-9a-f]+ (\S+)/.exec(line);
    if (m) keys.push(m[1]!);
  }
  return keys;
}

/**
 * Adds or removes an entry of a map (`value` given) or an ACL list file at
 * runtime, then reads the whole file's runtime copy back and checks the change
 * is there. Idempotent: adding a present key or removing an absent one succeeds
 * without a second copy.
 */
export async function setListEntry(
  client: SocketClient,
  kind: 'map' | 'acl',
  file: string,
  key: string,
  present: boolean,
  value = '1',
): Promise<void> {
  const show = async () => {
    const r = await client.send(`show ${kind} ${file}`);
    if (/^Unknown (map|ACL) identifier/im.test(r) || /^Unknown command/m.test(r)) throw new RuntimeError(`HAProxy does not know ${kind} ${file}`, r);
    return new Set(parseListDump(r));
  };
  const before = await show();
  if (before.has(key) === present) return;
  const cmd = present ? (kind === 'map' ? `add map ${file} ${key} ${value}` : `add acl ${file} ${key}`) : `del ${kind} ${file} ${key}`;
  const reply = await client.send(cmd);
  if (isErrorReply(reply) && !(!present && /^Key not found/im.test(reply))) throw new RuntimeError(`HAProxy refused "${cmd}": ${reply.trim().slice(0, 300)}`, reply);
  const after = await show();
  if (after.has(key) !== present) throw new RuntimeError(`"${cmd}" did not take: the runtime ${kind} does not ${present ? 'hold' : 'drop'} ${key}`);
}

export interface ProcInfo {
  masterPid: number;
  reloads: number;
  failedReloads: number;
  workers: { pid: number; reloads: number; version: string }[];
}

/** Parses the master CLI's `show proc`. */
export function parseShowProc(reply: string): ProcInfo | null {
  let master: { pid: number; reloads: number; failed: number } | null = null;
  const workers: ProcInfo['workers'] = [];
  let section = 'master';
  for (const line of reply.split('\n')) {
    // Sections: the master line, "# workers" (current), "# old workers" (draining after a reload), "# programs".
    if (line.startsWith('# workers')) section = 'workers';
    else if (line.startsWith('# old workers')) section = 'old';
    else if (line.startsWith('# programs')) section = 'programs';
    const m = /^(\d+)\s+(master|worker)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?\s+\S+\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[2] === 'master') master = { pid: Number(m[1]), reloads: Number(m[3]), failed: Number(m[4] ?? 0) };
    else if (section === 'workers') workers.push({ pid: Number(m[1]), reloads: Number(m[3]), version: m[5]! });
  }
  if (!master) return null;
  return { masterPid: master.pid, reloads: master.reloads, failedReloads: master.failed, workers };
}

/** Parses `show table <t>` dumps by key=value fields (never by position: 3.0 adds shard=). */
export function parseShowTable(reply: string): { header: Record<string, string>; entries: Record<string, string>[] } {
  const lines = reply.split('\n');
  const first = lines[0] ?? '';
  if (!first.startsWith('# table:')) throw new RuntimeError(`unexpected "show table" answer: ${first.slice(0, 200)}`, reply);
  const header: Record<string, string> = {};
  for (const m of first.slice(2).matchAll(/(\w+):\s*([^,]+)/g)) header[m[1]!] = m[2]!.trim();
  const entries: Record<string, string>[] = [];
  for (const line of lines.slice(1)) {
    if (!/^0x[0-9a-f]+:/.test(line)) continue;
    const e: Record<string, string> = {};
    for (const m of line.matchAll(/([\w()]+)=(\S+)/g)) e[m[1]!] = m[2]!;
    entries.push(e);
  }
  return { header, entries };
}
