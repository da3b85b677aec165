/**
 * TCP service operations behind the API (issue 13): config changes through
 * the applier (rendered, checked with `haproxy -c`, swapped, reloaded,
 * audited). A port the daemon's settings already use is refused here, where
 * the settings are known; the database refuses the rest (storage/tcp-services.ts).
 */
import type { Ops } from './ip-lists.js';
import { deleteTcpService, upsertTcpService, type TcpServiceInput } from '../../storage/tcp-services.js';
import { AppError } from '../../errors.js';

/** The ports the settings give other listeners, by what uses them. */
function reservedPorts(ops: Ops): Map<number, string> {
  const h = ops.cfg.haproxy;
  const out = new Map<number, string>();
  const add = (p: number | null, what: string) => p !== null && p !== 0 && !out.has(p) && out.set(p, what);
  add(h.http_port, 'haproxy.http_port');
  add(h.https_port, 'haproxy.https_port');
  add(h.stats_port, 'haproxy.stats_port');
  add(ops.cfg.api.port, 'api.port');
  add(ops.cfg.acme.challenge_port, 'acme.challenge_port');
  return out;
}

export function saveTcpService(ops: Ops, actor: string, input: TcpServiceInput) {
  if (input.port !== null) {
    const taken = reservedPorts(ops).get(input.port);
    if (taken) throw new AppError('conflict', `port ${input.port} is ${taken}`, { field: 'port' });
  }
  if (input.kind === 'tls_passthrough' && ops.cfg.haproxy.https_port === null) {
    throw new AppError('conflict', 'TLS passthrough shares the HTTPS port, and haproxy.https_port is not set', { field: 'kind' });
  }
  return ops.applier.submit({
    actor,
    action: 'tcp_service.upsert',
    target: input.name,
    detail: { kind: input.kind, sni: input.sni, port: input.port, servers: input.servers.length },
    mutate: (db) => upsertTcpService(db, input),
  });
}

export function removeTcpService(ops: Ops, actor: string, name: string) {
  return ops.applier.submit({
    actor,
    action: 'tcp_service.delete',
    target: name,
    mutate(db) {
      if (!deleteTcpService(db, name)) throw new AppError('not_found', `TCP service ${name} not found`, { field: 'name' });
      return true;
    },
  });
}
