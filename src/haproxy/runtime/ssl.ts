/**
 * Certificates at runtime (`new/set/commit/abort/del ssl cert`,
 * `add/del ssl crt-list`, `show ssl cert`). Each mutation checks HAProxy's
 * own confirmation; orchestration and the serial read-back are the
 * caller's (certs/hot-load.ts).
 */
import { RuntimeError, type SocketClient } from './client.js';
import { expectSuccess } from './replies.js';

/** Files listed by `show ssl cert` (a leading `*` marks an uncommitted transaction). */
export function parseCertList(reply: string): Set<string> {
  if (!reply.startsWith('#')) throw new RuntimeError(`unexpected "show ssl cert" answer: ${reply.slice(0, 200)}`, reply);
  return new Set(reply.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^\*/, '').trim()));
}

/** The `Serial:` of `show ssl cert <file>`, upper case; null when absent. */
export function parseCertSerial(reply: string): string | null {
  const m = /^Serial:\s*([0-9A-Fa-f]+)/m.exec(reply);
  return m ? m[1]!.toUpperCase() : null;
}

export function createSsl(client: SocketClient) {
  const expect = async (cmd: string, re: RegExp, payload?: string) => expectSuccess(cmd, await client.send(cmd, payload === undefined ? {} : { payload }), re);
  return {
    /** Files HAProxy has loaded as certificates. */
    loaded: async () => parseCertList(await client.send('show ssl cert')),
    /** The serial HAProxy serves for `file`, or null. */
    servedSerial: async (file: string) => parseCertSerial(await client.send(`show ssl cert ${file}`)),
    /** An empty certificate store for a file HAProxy does not know yet. */
    newCert: (file: string) => expect(`new ssl cert ${file}`, /New empty certificate store/),
    /** Opens (or updates) the transaction for `file` with `pem`, which must hold no empty line. */
    setCert: (file: string, pem: string) => expect(`set ssl cert ${file} <<`, /Transaction (created|updated)/, pem),
    commitCert: (file: string) => expect(`commit ssl cert ${file}`, /Success!/),
    /** Drops an open transaction; best effort (nothing to abort is fine). */
    abortCert: (file: string) => client.send(`abort ssl cert ${file}`).then(() => undefined, () => undefined),
    addToCrtList: (crtList: string, file: string) => expect(`add ssl crt-list ${crtList} ${file}`, /Success!/),
    /** Removes `file` from `crtList`; an entry already absent is success. */
    async delFromCrtList(crtList: string, file: string): Promise<void> {
      const reply = await client.send(`del ssl crt-list ${crtList} ${file}`);
      if (!/deleted/i.test(reply) && !/not found|doesn't exist/i.test(reply)) throw new RuntimeError(`HAProxy refused to remove ${file} from the crt-list: ${reply.trim().slice(0, 300)}`, reply);
    },
    delCert: (file: string) => expect(`del ssl cert ${file}`, /deleted/i),
  };
}
export type Ssl = ReturnType<typeof createSsl>;
