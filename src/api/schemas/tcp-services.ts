/**
 * The body of POST /api/tcp-services and the answers (issue 13). A server
 * takes the HTTP server's fields that mean something for raw TCP (checked by
 * the same validators); TLS to the server and administrative states are
 * not offered. Fields with a default take it only when absent; a field that
 * does not belong to the kind (`port` on tls_passthrough, `sni` on tcp) is
 * refused, not ignored.
 */
import { z } from 'zod';
import type { TcpServer, TcpServiceInput } from '../../storage/tcp-services.js';
import { bool, hostname, name, oneOf, port, serverCoreFields } from './fields.js';
import { ok } from './common.js';
import { serverOut } from './domains.js';

const tcpServerIn = z
  .strictObject(serverCoreFields('service'))
  .transform(
    (s): TcpServer => ({ name: s.name, address: s.address, port: s.port, check: s.check ?? true, backup: s.backup ?? false, weight: s.weight ?? 100, maxconn: s.maxconn ?? null }),
  );

export const tcpServiceBody = z
  .strictObject({
    name: name('The service name (the same rules as backend names; names starting with "hm-" are reserved)'),
    kind: oneOf(['tls_passthrough', 'tcp'] as const, 'tls_passthrough: TLS passed through unread, chosen by SNI on the HTTPS port; tcp: a listen port of its own', 'must be tls_passthrough or tcp'),
    sni: hostname('tls_passthrough: the host name the ClientHello names (exact, or "*.example.com" for any name under it)', { allowWildcard: true }).optional(),
    port: port('tcp: the port it listens on, on haproxy.bind_address (not the HTTP, HTTPS, stats, API or ACME port, nor another service\'s)').optional(),
    balance: oneOf(['roundrobin', 'leastconn', 'source'] as const, 'The balance algorithm (default roundrobin)', 'must be roundrobin, leastconn or source').optional(),
    send_proxy: bool('Send the PROXY protocol v2 header to the servers, so they see the client\'s address (default false)').optional(),
    servers: z.array(tcpServerIn, { error: 'must be a list of servers (omit it for none)' }).max(1000, { error: 'must hold at most 1000 servers' }).optional(),
  })
  .transform((b, ctx): TcpServiceInput => {
    const fail = (path: (string | number)[], message: string) => {
      ctx.addIssue({ code: 'custom', path, message });
      return z.NEVER;
    };
    if (b.name.startsWith('hm-')) return fail(['name'], 'names starting with "hm-" are reserved');
    if (b.kind === 'tls_passthrough') {
      if (b.sni === undefined) return fail(['sni'], 'is required for tls_passthrough');
      if (b.port !== undefined) return fail(['port'], 'is not taken by tls_passthrough (it shares the HTTPS port)');
    } else {
      if (b.port === undefined) return fail(['port'], 'is required for tcp');
      if (b.sni !== undefined) return fail(['sni'], 'is not taken by tcp (nothing reads the stream)');
    }
    const servers = b.servers ?? [];
    const seen = new Set<string>();
    for (const [i, s] of servers.entries()) {
      if (seen.has(s.name)) return fail(['servers', i, 'name'], `"${s.name}" is used twice`);
      seen.add(s.name);
    }
    return { name: b.name, kind: b.kind, sni: b.sni ?? null, port: b.port ?? null, balance: b.balance ?? 'roundrobin', sendProxy: b.send_proxy ?? false, servers };
  });

export const tcpServiceBodyExample = {
  name: 'git',
  kind: 'tls_passthrough',
  sni: 'git.example.com',
  balance: 'roundrobin',
  send_proxy: false,
  servers: [{ name: 'git1', address: '10.0.0.21', port: 443, check: true }],
};

export const tcpServiceOut = z.strictObject({
  name: z.string(),
  kind: z.enum(['tls_passthrough', 'tcp']),
  sni: z.string().nullable().meta({ description: 'tls_passthrough: the host name; null for tcp' }),
  port: z.number().int().nullable().meta({ description: 'tcp: the listen port; null for tls_passthrough' }),
  balance: z.enum(['roundrobin', 'leastconn', 'source']),
  send_proxy: z.boolean(),
  // A domain backend's server answer without its TLS and state fields.
  servers: z.array(serverOut.pick({ name: true, address: true, port: true, check: true, backup: true, weight: true, maxconn: true })),
});

export const tcpServiceSaved = ok({ name: z.string(), created: z.boolean(), reloaded: z.boolean(), warning: z.string().optional() });

export const tcpServiceRemoved = ok({ message: z.string(), reloaded: z.boolean() });

export const tcpServiceParam = z.strictObject({ name: name('The service name') });
