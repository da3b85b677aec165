/**
 * One ACME account for the fleet (issue 17): whichever node leads, orders go
 * to the CA under the same account, so the CA sees one client (one contact,
 * one set of rate limits, one place to revoke from).
 *
 * The account key is stored in PostgreSQL sealed with the fleet key
 * (secret-box.ts; the additional data binds it to the ACME directory), with
 * the account URL. The first node that needs an account (the first leader to
 * order) stores its own (the one it held before joining, or a new one); every
 * later leader uses the stored one. The key is unsealed in memory only when a
 * leader builds its ACME client; it is never logged, returned by the API or
 * written to the node's disk.
 *
 * A stored key that does not open here (another fleet key, altered) is
 * refused: audited once and logged without key material, and this node does
 * not order (it never registers a second account behind the fleet's back).
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { AccountStore } from '../certs/acme.js';
import { recordAudit } from '../storage/audit.js';
import { AppError, describe } from '../errors.js';
import { getSharedAccount, putSharedAccount } from '../storage/pg/acme-account.js';
import { seal, unseal } from './secret-box.js';

const context = (directory: string) => `acme-account\0${directory}`;

export function createSharedAccount(d: { pool: pg.Pool; key: Buffer; node: string; db: Db; log: Logger }): AccountStore {
  const { pool, key, node, log } = d;
  let refused = false;

  const open = (row: { keySealed: string; accountUrl: string; node: string; directory: string }) => {
    try {
      return { key: Buffer.from(unseal(key, row.keySealed, context(row.directory)), 'utf8'), url: row.accountUrl };
    } catch (e) {
      const error = describe(e);
      if (!refused) {
        refused = true;
        recordAudit(d.db, { actor: `fleet:${row.node}`, action: 'fleet.acme_account_refused', target: row.directory, detail: { account: row.accountUrl }, result: 'failed', error });
      }
      log.error('the fleet ACME account cannot be used here; this node does not order', { directory: row.directory, stored_by: row.node, error });
      throw new AppError('acme', `the fleet's ACME account cannot be opened on this node (${error}); nothing was ordered`, { cause: e });
    }
  };

  return {
    async load(directory) {
      const row = await getSharedAccount(pool, directory);
      return row ? open(row) : null;
    },
    async save(directory, a) {
      const kept = await putSharedAccount(pool, { directory, keySealed: seal(key, a.key.toString('utf8'), context(directory)), accountUrl: a.url, node });
      if (kept.accountUrl === a.url) log.info('ACME account shared with the fleet', { directory, account: a.url });
      return kept.accountUrl === a.url ? a : open(kept);
    },
  };
}
