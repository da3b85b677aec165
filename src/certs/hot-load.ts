/**
 * Loading a certificate into a running HAProxy without a reload, through the
 * stats socket: `set ssl cert` + `commit ssl cert` for a file HAProxy knows;
 * `new ssl cert` first and `add ssl crt-list` after for a new one. The result
 * is read back (`show ssl cert <file>`: the serial must be the new one).
 * Removal is `del ssl crt-list` then `del ssl cert`.
 */
import { RuntimeError, type Ssl } from '../haproxy/runtime/index.js';

const normSerial = (s: string) => s.toUpperCase().replace(/^0+/, '');

/** Makes `file` serve `pem` (whose leaf has `serial`), adding it to `crtList` when HAProxy does not know it yet. */
export async function hotLoad(ssl: Ssl, crtList: string, file: string, pem: string, serial: string): Promise<void> {
  const known = (await ssl.loaded()).has(file);
  if (!known) await ssl.newCert(file);
  // HAProxy's payload ends at the first empty line: the PEM must have none (combine() guarantees it).
  const payload = pem.split('\n').filter((l) => l.trim() !== '').join('\n');
  try {
    await ssl.setCert(file, payload);
    await ssl.commitCert(file);
  } catch (e) {
    await ssl.abortCert(file);
    throw e;
  }
  if (!known) await ssl.addToCrtList(crtList, file);
  const served = await ssl.servedSerial(file);
  if (!served || normSerial(served) !== normSerial(serial)) {
    throw new RuntimeError(`after the commit HAProxy serves serial ${served ?? 'none'} for ${file}, not ${serial}`);
  }
}

export async function hotUnload(ssl: Ssl, crtList: string, file: string): Promise<void> {
  if (!(await ssl.loaded()).has(file)) return;
  await ssl.delFromCrtList(crtList, file);
  await ssl.delCert(file);
}
