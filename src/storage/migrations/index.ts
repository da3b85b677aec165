/**
 * Numbered, forward-only schema migrations, one file each, listed here in
 * order. The database's `user_version` is the number of the last one applied
 * (storage/db.ts `migrate`). Never edit a shipped migration: add the next file
 * and append it here. Before migrating a non-empty database the file is backed up.
 */
import type { Migration } from './migration.js';
import { migration as m001 } from './001-core.js';
import { migration as m002 } from './002-certificates.js';
import { migration as m003 } from './003-incidents.js';
import { migration as m004 } from './004-outbox.js';
import { migration as m005 } from './005-actions.js';
import { migration as m006 } from './006-analyses.js';
import { migration as m007 } from './007-action-names.js';
import { migration as m008 } from './008-strong-model.js';
import { migration as m009 } from './009-actions-by-target.js';
import { migration as m010 } from './010-site-options.js';
import { migration as m011 } from './011-tcp-services.js';
import { migration as m012 } from './012-retention-indexes.js';
import { migration as m013 } from './013-fleet.js';
import { migration as m014 } from './014-incident-node.js';
import { migration as m015 } from './015-fleet-actions.js';
import { migration as m016 } from './016-analysis-by.js';

export type { Migration } from './migration.js';

export const migrations: Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012, m013, m014, m015, m016];
