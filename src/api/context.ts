/** What the route files need from the daemon. */
import type { Config } from '../config/schema.js';
import type { Db } from '../storage/db.js';
import type { Applier } from '../haproxy/apply.js';
import type { HaproxyControl } from '../haproxy/process.js';
import type { HaproxyInfo } from '../haproxy/version.js';
import type { Logger } from '../log.js';
import type { Ops } from '../ops/ip-lists.js';

export interface ApiDeps {
  cfg: Config;
  reader: Db;
  applier: Applier;
  control: HaproxyControl;
  info: HaproxyInfo;
  log: Logger;
  ops: Ops;
}

/** The audit identity of a request: who made the change. */
export function actorOf(ctx: { state: Record<string, unknown> }): string {
  return typeof ctx.state.actor === 'string' ? ctx.state.actor : 'api';
}

export function body(ctx: { request: unknown }): Record<string, unknown> {
  const b = (ctx.request as { body?: unknown }).body;
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}
