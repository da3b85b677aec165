/**
 * The fleet's PostgreSQL migrations, one file each, listed here in order.
 * Never edit a shipped migration: add the next file and append it here.
 */
import type { PgMigration } from './migration.js';
import { migration as m001 } from './001-ip-lists.js';
import { migration as m002 } from './002-config.js';
import { migration as m003 } from './003-leader-certificates.js';
import { migration as m004 } from './004-fleet-incidents.js';
import { migration as m005 } from './005-actions.js';
import { migration as m006 } from './006-cert-requests-acme-account.js';
import { migration as m007 } from './007-server-states.js';
import { migration as m008 } from './008-fleet-analyses.js';

export type { PgMigration } from './migration.js';

export const pgMigrations: PgMigration[] = [m001, m002, m003, m004, m005, m006, m007, m008];
