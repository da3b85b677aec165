/** One forward-only step of the fleet's PostgreSQL schema (see ../schema.ts). */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}
