/**
 * TCP services (issue 13): the only place their SQL lives. A service is
 * either TLS passthrough, matched by the SNI host name on the HTTPS port the
 * HTTP sites share, or plain TCP on a port of its own; either way HAProxy
 * forwards the bytes to its servers without reading them.
 *
 * Contract: inputs are validated by the API's schema
 * (api/schemas/tcp-services.ts); this layer enforces uniqueness (name, SNI,
 * port) and the one rule across tables (an SNI is not also an HTTP domain of
 * the same name), reporting each as a conflict naming the field.
 */
import type { Db } from './db.js';
import { AppError } from '../errors.js';
import type { ServerInput } from './domains.js';

export type TcpServiceKind = 'tls_passthrough' | 'tcp';
export type TcpBalance = 'roundrobin' | 'leastconn' | 'source';

/** A TCP service's server: the HTTP server's fields that mean something for raw TCP (no TLS to the server, no state). */
export type TcpServer = Pick<ServerInput, 'name' | 'address' | 'port' | 'check' | 'backup' | 'weight' | 'maxconn'>;

export interface TcpServiceInput {
  name: string;
  kind: TcpServiceKind;
  /** tls_passthrough: the host name (exact, or "*.example.com"); null for tcp. */
  sni: string | null;
  /** tcp: the listen port on haproxy.bind_address; null for tls_passthrough. */
  port: number | null;
  balance: TcpBalance;
  /** Send the PROXY protocol (v2) header to the servers. */
  sendProxy: boolean;
  servers: TcpServer[];
}

export interface TcpService extends TcpServiceInput {
  id: number;
}

interface ServiceSql {
  id: number;
  name: string;
  kind: TcpServiceKind;
  sni: string | null;
  port: number | null;
  balance: TcpBalance;
  send_proxy: number;
}

interface ServerSql {
  service_id: number;
  name: string;
  address: string;
  port: number;
  check_enabled: number;
  backup: number;
  weight: number;
  maxconn: number | null;
}

/** Every TCP service with its servers, by name. */
export function listTcpServices(db: Db): TcpService[] {
  const rows = db.prepare('SELECT id, name, kind, sni, port, balance, send_proxy FROM tcp_services ORDER BY name').all() as ServiceSql[];
  const servers = new Map<number, TcpServer[]>();
  for (const s of db.prepare('SELECT * FROM tcp_service_servers ORDER BY service_id, id').all() as ServerSql[]) {
    const list = servers.get(s.service_id) ?? [];
    list.push({ name: s.name, address: s.address, port: s.port, check: s.check_enabled === 1, backup: s.backup === 1, weight: s.weight, maxconn: s.maxconn });
    servers.set(s.service_id, list);
  }
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    sni: r.sni,
    port: r.port,
    balance: r.balance,
    sendProxy: r.send_proxy === 1,
    servers: servers.get(r.id) ?? [],
  }));
}

/** The passthrough service whose SNI is exactly `host` (as stored, wildcards spelled "*.x"), if any. */
export function passthroughFor(db: Db, host: string): string | null {
  const r = db.prepare("SELECT name FROM tcp_services WHERE kind = 'tls_passthrough' AND sni = ?").get(host) as { name: string } | undefined;
  return r?.name ?? null;
}

/**
 * Creates or replaces a service by name (its servers replaced). Another
 * service with the same SNI or port, or an HTTP domain spelled as the SNI,
 * is a conflict.
 */
export function upsertTcpService(db: Db, input: TcpServiceInput): { id: number; created: boolean } {
  const existing = db.prepare('SELECT id FROM tcp_services WHERE name = ?').get(input.name) as { id: number } | undefined;
  if (input.sni !== null) {
    const other = db.prepare('SELECT name FROM tcp_services WHERE sni = ? AND name <> ?').get(input.sni, input.name) as { name: string } | undefined;
    if (other) throw new AppError('conflict', `SNI ${input.sni} is already passed through by service ${other.name}`, { field: 'sni' });
    const domain = db.prepare('SELECT domain FROM domains WHERE domain = ?').get(input.sni) as { domain: string } | undefined;
    if (domain) throw new AppError('conflict', `${input.sni} is an HTTP domain; remove it first (its HTTPS would be passed through, not served)`, { field: 'sni' });
  }
  if (input.port !== null) {
    const other = db.prepare('SELECT name FROM tcp_services WHERE port = ? AND name <> ?').get(input.port, input.name) as { name: string } | undefined;
    if (other) throw new AppError('conflict', `port ${input.port} is already used by service ${other.name}`, { field: 'port' });
  }
  const row = { name: input.name, kind: input.kind, sni: input.sni, port: input.port, balance: input.balance, send_proxy: input.sendProxy ? 1 : 0 };
  let id: number;
  if (existing) {
    id = existing.id;
    db.prepare(
      `UPDATE tcp_services SET kind = @kind, sni = @sni, port = @port, balance = @balance, send_proxy = @send_proxy,
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = @id`,
    ).run({ ...row, id });
    db.prepare('DELETE FROM tcp_service_servers WHERE service_id = ?').run(id);
  } else {
    id = Number(db.prepare('INSERT INTO tcp_services (name, kind, sni, port, balance, send_proxy) VALUES (@name, @kind, @sni, @port, @balance, @send_proxy)').run(row).lastInsertRowid);
  }
  const ins = db.prepare(
    `INSERT INTO tcp_service_servers (service_id, name, address, port, check_enabled, backup, weight, maxconn)
     VALUES (@service_id, @name, @address, @port, @check, @backup, @weight, @maxconn)`,
  );
  for (const s of input.servers) {
    ins.run({ service_id: id, name: s.name, address: s.address, port: s.port, check: s.check ? 1 : 0, backup: s.backup ? 1 : 0, weight: s.weight, maxconn: s.maxconn });
  }
  return { id, created: !existing };
}

/** Removes a service with its servers. Returns false if it did not exist. */
export function deleteTcpService(db: Db, name: string): boolean {
  return db.prepare('DELETE FROM tcp_services WHERE name = ?').run(name).changes > 0;
}
