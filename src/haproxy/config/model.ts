/** Reads the render model (everything haproxy.cfg and its files depend on) from the database. */
import type { Config } from '../../config/schema.js';
import type { Db } from '../../storage/db.js';
import { listBackends } from '../../storage/domains.js';
import { blocked, proxies, trusted } from '../../storage/ip-lists.js';
import { certificates } from '../../storage/certificates.js';
import { listTcpServices } from '../../storage/tcp-services.js';
import type { RenderModel } from './render.js';

export function loadModel(db: Db, cfg: Config): RenderModel {
  const t = trusted.list(db);
  return {
    backends: listBackends(db),
    blocked: blocked.list(db).map((b) => b.ip_address),
    trustedRealIp: t.filter((x) => x.scope === 'real_ip').map((x) => x.ip_address),
    trustedSource: t.filter((x) => x.scope === 'source').map((x) => x.ip_address),
    trustedProxies: proxies.list(db).map((p) => p.cidr),
    acmePort: cfg.acme.challenge_port,
    // The self-signed certificate sorts first: it is the default for clients without SNI until replaced.
    crtList: cfg.haproxy.https_port === null ? null : certificates.list(db).map((c) => c.file),
    tcpServices: listTcpServices(db),
  };
}
