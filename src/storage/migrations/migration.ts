/** One numbered schema migration: `sql` runs in one transaction, then `user_version` becomes `version`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
