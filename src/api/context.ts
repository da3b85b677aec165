/** What the route files need from the daemon. */
import type { Config } from '../config/schema.js';
import type { Db } from '../storage/db.js';
import type { Applier } from '../haproxy/config/apply.js';
import type { HaproxyControl } from '../haproxy/process/control.js';
import type { HaproxyInfo } from '../haproxy/process/version.js';
import type { Logger } from '../log.js';
import type { Ops } from '../haproxy/changes/ip-lists.js';
import type { CertService } from '../certs/service.js';
import type { Monitor } from '../monitor/monitor.js';
import type { Notifications } from '../pipeline/notify/service.js';
import type { Remediation } from '../pipeline/remediation/executor.js';
import type { AnalysisStage } from '../pipeline/analysis/stage.js';
import type { ProtectedAddresses } from '../pipeline/policy/types.js';
import { validationError } from '../errors.js';

export interface ApiDeps {
  cfg: Config;
  reader: Db;
  applier: Applier;
  control: HaproxyControl;
  info: HaproxyInfo;
  log: Logger;
  ops: Ops;
  certs: CertService;
  monitor?: Monitor;
  notifications?: Notifications;
  remediation?: Remediation;
  analysis?: AnalysisStage;
  /** What no block may cover (monitor/monitor.ts), shared with the remediation stage. */
  isProtected: ProtectedAddresses;
}

/** The audit identity of a request: who made the change. */
export function actorOf(ctx: { state: Record<string, unknown> }): string {
  return typeof ctx.state.actor === 'string' ? ctx.state.actor : 'api';
}

/** The JSON body as an object ({} when there is none); any other JSON value is refused. */
export function body(ctx: { request: unknown }): Record<string, unknown> {
  const b = (ctx.request as { body?: unknown }).body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw validationError('(body)', 'must be a JSON object');
  return b as Record<string, unknown>;
}
