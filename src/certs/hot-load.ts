/**
 * Loading a certificate into a running HAProxy without a reload, through the
 * stats socket: `set ssl cert` + `commit ssl cert` for a file HAProxy knows;
 * `new ssl cert` first and `add ssl crt-list` after for a new one. The result
 * is read back (`show ssl cert <file>`: the serial must be the new one).
 * Removal is `del ssl crt-list` then `del ssl cert`.
 */
import type { SocketClient } from '../haproxy/runtime.js';
import { RuntimeError } from '../haproxy/runtime.js';

const ok = (reply: string, re: RegExp) => re.test(reply) && !/(error|can't|cannot|unable|failed|not found|unknown)/i.test(reply.replace(re, ''));

async function expect(stats: SocketClient, cmd: string, re: RegExp, payload?: string): Promise<string> {
  const reply = await stats.send(cmd, payload === undefined ? {} : { payload });
  if (!ok(reply, re)) throw new RuntimeError(`HAProxy refused "${cmd.split(' <<')[0]}": ${reply.trim().slice(0, 300)}`, reply);
  return reply;
}

/** Files HAProxy has loaded as certificates. */
export async function loadedCerts(stats: SocketClient): Promise<Set<string>> {
  const reply = await stats.send('show ssl cert');
  if (!reply.startsWith('#')) throw new RuntimeError(`unexpected "show ssl cert" answer: ${reply.slice(0, 200)}`, reply);
  return new Set(reply.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^\*/, '').trim()));
}

export async function servedSerial(stats: SocketClient, file: string): Promise<string | null> {
  const reply = await stats.send(`show ssl cert ${file}`);
  const m = /^Serial:\s*([0-9A-Fa-f]+)/m.exec(reply);
  return m ? m[1]!.toUpperCase() : null;
}

const normSerial = (s: string) => s.toUpperCase().replace(/^0+/, '');

/** Makes `file` serve `pem` (whose leaf has `serial`), adding it to `crtList` when HAProxy does not know it yet. */
export async function hotLoad(stats: SocketClient, crtList: string, file: string, pem: string, serial: string): Promise<void> {
  const known = (await loadedCerts(stats)).has(file);
  if (!known) await expect(stats, `new ssl cert ${file}`, /New empty certificate store/);
  // HAProxy's payload ends at the first empty line: the PEM must have none (combine() guarantees it).
  const payload = pem.split('\n').filter((l) => l.trim() !== '').join('\n');
  try {
    await expect(stats, `set ssl cert ${file} <<`, /Transaction (created|updated)/, payload);
    await expect(stats, `commit ssl cert ${file}`, /Success!/);
  } catch (e) {
    await stats.send(`abort ssl cert ${file}`).catch(() => undefined);
    throw e;
  }
  if (!known) await expect(stats, `add ssl crt-list ${crtList} ${file}`, /Success!/);
  const served = await servedSerial(stats, file);
  if (!served || normSerial(served) !== normSerial(serial)) {
    throw new RuntimeError(`after the commit HAProxy serves serial ${served ?? 'none'} for ${file}, not ${serial}`);
  }
}

export async function hotUnload(stats: SocketClient, crtList: string, file: string): Promise<void> {
  if (!(await loadedCerts(stats)).has(file)) return;
  const del = await stats.send(`del ssl crt-list ${crtList} ${file}`);
  if (!/deleted/i.test(del) && !/not found|doesn't exist/i.test(del)) throw new RuntimeError(`HAProxy refused to remove ${file} from the crt-list: ${del.trim().slice(0, 300)}`, del);
  await expect(stats, `del ssl cert ${file}`, /deleted/i);
}
