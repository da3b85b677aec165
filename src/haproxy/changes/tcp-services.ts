/**
 * TCP service operations behind the API (issue 13): config changes through
 * the applier (rendered, checked with `haproxy -c`, swapped, reloaded,
 * audited). A port the daemon's settings already use is refused here, where
 * the settings are known; the database refuses the rest (storage/tcp-services.ts).
 */
import type { Ops } from './ip-lists.js';
import { deleteTcpService, upsertTcpService, type TcpServiceInput } from '../../storage/tcp-services.js';
import { AppError } from '../../errors.js';
import { tcpServiceChange } from './fleet-wire.js';

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

/** Why these settings cannot take the service (a port another listener has, passthrough without an HTTPS port), with the field; null when they can. */
export function tcpServiceRefusal(ops: Ops, input: TcpServiceInput): { field: string; message: string } | null {
  if (input.port !== null) {
    const taken = reservedPorts(ops).get(input.port);
    if (taken) return { field: 'port', message: `port ${input.port} is ${taken}` };
  }
  if (input.kind === 'tls_passthrough' && ops.cfg.haproxy.https_port === null) {
    return { field: 'kind', message: 'TLS passthrough shares the HTTPS port, and haproxy.https_port is not set' };
  }
  return null;
}

export function saveTcpService(ops: Ops, actor: string, input: TcpServiceInput) {
  const refused = tcpServiceRefusal(ops, input);
  if (refused) throw new AppError('conflict', refused.message, { field: refused.field });
  return ops.applier.submit({
    actor,
    action: 'tcp_service.upsert',
    target: input.name,
    detail: { kind: input.kind, sni: input.sni, port: input.port, servers: input.servers.length },
    mutate(db) {
      const r = upsertTcpService(db, input);
      ops.record?.(db, tcpServiceChange(db, input.name));
      return r;
    },
  });
}

export function removeTcpService(ops: Ops, actor: string, name: string) {
  return ops.applier.submit({
    actor,
    action: 'tcp_service.delete',
    target: name,
    mutate(db) {
      if (!deleteTcpService(db, name)) throw new AppError('not_found', `TCP service ${name} not found`, { field: 'name' });
      ops.record?.(db, { kind: 'tcp_service_delete', name });
      return true;
    },
  });
}
