/** Shared pieces of the notify tests: a database with the outbox table, a signed-webhook receiver, a clock. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase } from '../../src/storage/db.js';
import type { Db } from '../../src/storage/db.js';
import { OUTBOX_SQL } from '../../src/storage/migrations/004-outbox.js';
import { MESSAGE_ID_HEADER, verifyWebhook } from '../../src/pipeline/notify/signature.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { makeIncident } from '../helpers/incident.js';

export function openTestDb(file = ':memory:'): { writer: Db; reader: Db; close(): void } {
  const { writer, reader } = openDatabase(file);
  const has = writer.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'outbox'`).get();
  if (!has) writer.exec(OUTBOX_SQL);
  return {
    writer,
    reader,
    close() {
      if (reader !== writer) reader.close();
      writer.close();
    },
  };
}

export interface Receipt {
  messageId: string;
  body: unknown;
  headers: http.IncomingHttpHeaders;
}

/**
 * A webhook receiver: verifies the signature when given a secret, keeps
 * every signed request (`all`) and the first of each message id (`unique`). `respond` can fail requests on purpose.
 */
export async function startReceiver(opts: {
  secret?: string;
  port?: number;
  respond?: (r: Receipt, n: number) => number | 'hang' | { status: number; headers: Record<string, string> };
  delayMs?: number;
}) {
  const all: Receipt[] = [];
  const unique = new Map<string, Receipt>();
  const rejected: string[] = [];
  let active = 0;
  let maxActive = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      active++;
      maxActive = Math.max(maxActive, active);
      const finish = () => {
        active--;
        const raw = Buffer.concat(chunks);
        if (opts.secret !== undefined) {
          const v = verifyWebhook(opts.secret, req.headers, raw);
          if (!v.ok) {
            rejected.push(v.reason);
            res.writeHead(401).end(v.reason);
            return;
          }
        }
        const messageId = String(req.headers[MESSAGE_ID_HEADER] ?? '');
        const r: Receipt = { messageId, body: JSON.parse(raw.toString('utf8')), headers: req.headers };
        all.push(r);
        const answer = opts.respond?.(r, all.length) ?? 200;
        if (answer === 'hang') return;
        const status = typeof answer === 'number' ? answer : answer.status;
        const extra = typeof answer === 'number' ? {} : answer.headers;
        // A receiver processes a message id once, whatever it answers (a 5xx here stands for a lost reply).
        if (!unique.has(messageId)) unique.set(messageId, r);
        res.writeHead(status, { 'content-type': 'text/plain', ...extra }).end(status < 300 ? 'ok' : 'nope');
      };
      if (opts.delayMs) setTimeout(finish, opts.delayMs);
      else finish();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    all,
    unique,
    rejected,
    maxActive: () => maxActive,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function clock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (v: number) => (t = v) };
}

/** An open high-severity incident on one address (notification tests). */
export const incident = (over: Partial<Incident> = {}): Incident =>
  makeIncident({ rule: 'http-scan', category: 'attack', severity: 'high', subject: { type: 'ip', value: '203.0.113.7' }, firstSeen: Date.UTC(2026, 0, 1), actions: [], samples: ['GET /.env HTTP/1.1'], ...over }, Date.UTC(2026, 0, 1));
