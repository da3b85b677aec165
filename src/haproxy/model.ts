/** Reads the render model (everything haproxy.cfg and its files depend on) from the database. */
import type { Db } from '../storage/db.js';
import { listBackends } from '../storage/domains.js';
import { blocked, proxies, trusted } from '../storage/ip-lists.js';
import type { RenderModel } from './render.js';

export function loadModel(db: Db, extra: { acmePort: number | null; certDir: string | null }): RenderModel {
  const t = trusted.list(db);
  return {
    backends: listBackends(db),
    blocked: blocked.list(db).map((b) => b.ip_address),
    trustedRealIp: t.filter((x) => x.scope === 'real_ip').map((x) => x.ip_address),
    trustedSource: t.filter((x) => x.scope === 'source').map((x) => x.ip_address),
    trustedProxies: proxies.list(db).map((p) => p.cidr),
    acmePort: extra.acmePort,
    certDir: extra.certDir,
  };
}
