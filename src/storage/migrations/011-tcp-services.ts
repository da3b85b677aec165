import type { Migration } from './migration.js';
/**
 * Migration 11: TCP services (issue 13): TLS passthrough by SNI on the HTTPS
 * port, or a plain TCP port of their own, each with its servers. A database
 * from before has none, and renders exactly as it did.
 */
export const migration: Migration = {
  version: 11,
  name: 'tcp services',
  sql: `
      CREATE TABLE tcp_services (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        kind       TEXT NOT NULL CHECK (kind IN ('tls_passthrough', 'tcp')),
        sni        TEXT UNIQUE,
        port       INTEGER UNIQUE CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
        balance    TEXT NOT NULL DEFAULT 'roundrobin' CHECK (balance IN ('roundrobin', 'leastconn', 'source')),
        send_proxy INTEGER NOT NULL DEFAULT 0 CHECK (send_proxy IN (0, 1)),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        CHECK ((kind = 'tls_passthrough' AND sni IS NOT NULL AND port IS NULL) OR (kind = 'tcp' AND port IS NOT NULL AND sni IS NULL))
      );
      CREATE TABLE tcp_service_servers (
        id         INTEGER PRIMARY KEY,
        service_id INTEGER NOT NULL REFERENCES tcp_services(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        address    TEXT NOT NULL,
        port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
        check_enabled INTEGER NOT NULL DEFAULT 1 CHECK (check_enabled IN (0, 1)),
        backup     INTEGER NOT NULL DEFAULT 0 CHECK (backup IN (0, 1)),
        weight     INTEGER NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 256),
        maxconn    INTEGER CHECK (maxconn IS NULL OR maxconn > 0),
        UNIQUE (service_id, name)
      );
    `,
};
