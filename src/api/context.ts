/** What the route files need from the daemon. */
import type { CertRequestRow } from '../storage/pg/cert-requests.js';
import type { Metrics } from '../metrics/metrics.js';
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
import type { Sessions } from './sessions.js';
import type { TrafficPoint } from '../metrics/traffic.js';
import type { ConflictRow } from '../storage/pg/actions.js';
import { validationError } from '../errors.js';
import { checkText, findJsonTextProblem } from '../validate/text.js';

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
  /** The Prometheus registry behind GET /metrics, and the read-only token that opens it (null under api.auth: none). */
  metrics?: Metrics;
  metricsToken?: string | null;
  /** The console's read-only viewer key (null under api.auth: none), and its logins. */
  viewerKey?: string | null;
  sessions?: Sessions;
  /** The last hour of HTTP traffic (GET /api/traffic, the console's chart). */
  traffic?: { points(): TrafficPoint[]; intervalSeconds: number };
  /** The fleet sync unit's status (GET /api/fleet); absent or null on a single node. */
  fleet?: { status(): { node: string; connected: boolean; lastAppliedVersion: number; outbox: number; lastError: string | null } } | null;
  /** The fleet's shared actions (fleet/actions-sync.ts): records waiting here and the fleet's recent conflicts (GET /api/fleet). */
  fleetActions?: { status(): { pending: number }; conflicts(): readonly ConflictRow[] } | null;
  /** The fleet leader's status (GET /api/fleet: who runs ACME orders and renewals); absent or null on a single node. */
  fleetJobs?: {
    status(): { isLeader: boolean; leader: string | null; since: string | null; certificates: boolean };
    /** Certificate requests queued for the leader (GET /api/fleet/requests). */
    requests?: { get(id: number): Promise<CertRequestRow | null>; recent(limit: number): Promise<CertRequestRow[]> };
  } | null;
}

/** The audit identity of a request: who made the change. */
export function actorOf(ctx: { state: Record<string, unknown> }): string {
  return typeof ctx.state.actor === 'string' ? ctx.state.actor : 'api';
}

/**
 * The JSON body as an object ({} when there is none); any other JSON value,
 * `null` included, is refused. Every string in it, field names included,
 * has passed the shared text check (validate/text.ts): a control character,
 * a line separator, a bidi control or surrounding whitespace anywhere is a
 * 400 naming the field, before any route reads a value. `documents`: top-level
 * fields that hold a file's text (validate/text.ts documentProblem).
 */
export function body(ctx: { request: unknown }, documents: readonly string[] = []): Record<string, unknown> {
  const b = (ctx.request as { body?: unknown }).body;
  if (b === undefined) return {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw validationError('(body)', 'must be a JSON object');
  // A document field's strings (the field itself, or the values of it when it is an object: its schema says which shapes it takes) may hold lines and tabs.
  const bad = findJsonTextProblem(b, (path) => documents.some((d) => path === d || path.startsWith(`${d}.`)));
  if (bad) throw validationError(bad.path, bad.problem);
  return b as Record<string, unknown>;
}

/**
 * A parameter given in the body or, when the body has no such field, in the
 * query string (DELETE routes take both). A body field that is present wins
 * even when it is null, so null is judged as sent, never replaced. A query
 * value passes the same text check as the body's strings (given twice, it is
 * a list, which the field's own check refuses).
 */
export function bodyOrQuery(b: Record<string, unknown>, ctx: { query: Record<string, unknown> }, key: string): unknown {
  if (Object.hasOwn(b, key)) return b[key];
  const v = ctx.query[key];
  return typeof v === 'string' ? checkText(v, key) : v;
}
