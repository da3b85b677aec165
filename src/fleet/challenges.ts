/**
 * HTTP-01 in a fleet (issue 17): the CA may validate through any node's
 * HAProxy, not only the one that ordered. The ordering node's responder
 * writes each token to PostgreSQL (fleet_challenges) before the CA is asked
 * to validate, and every node's responder looks up a token it does not hold
 * there. A token lives at most TOKEN_TTL_S (an order that dies leaves one
 * that stops answering, and the leader prunes it).
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { Responder } from '../certs/responder.js';
import { AppError, describe } from '../errors.js';
import { getChallenge, putChallenge, removeChallenge } from '../storage/pg/challenges.js';

const TOKEN_TTL_S = 600;

/**
 * The responder the ACME client and the self-check use on a fleet node:
 * `set` resolves once the token is in PostgreSQL (or throws: the order must
 * not go on when another node could not answer the CA).
 */
export function sharedResponder(local: Responder, pool: pg.Pool, node: string, log: Logger): Responder {
  return {
    port: local.port,
    close: () => local.close(),
    async set(token, value) {
      local.set(token, value);
      try {
        await putChallenge(pool, token, value, node, TOKEN_TTL_S);
      } catch (e) {
        local.remove(token);
        throw new AppError('unavailable', `cannot share the HTTP-01 token through the fleet database (another node may be the one the CA reaches): ${describe(e)}`, { cause: e });
      }
    },
    async remove(token) {
      local.remove(token);
      await removeChallenge(pool, token).catch((e) => log.warn('could not remove a shared challenge token; it expires by itself', { error: describe(e) }));
    },
  };
}

/** What a node's responder asks for a token it does not hold; unreachable database: no answer (404). */
export function sharedChallengeLookup(pool: pg.Pool): (token: string) => Promise<string | undefined> {
  return (token) => getChallenge(pool, token).catch(() => undefined);
}
