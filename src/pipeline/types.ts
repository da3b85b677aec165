/**
 * The log pipeline's data, shared by its named stages:
 *   sources -> parse -> triage (+ clustering) -> incidents -> analysis ->
 *   policy -> remediation (carrying out actions) -> notify
 * "Escalate" means one thing throughout: hand an incident to the analysis
 * tier (a rule's `escalate: true`, a novel error, the `escalated` event when an
 * incident starts asking for it or its severity rises).
 * The hot path (parse, triage) is plain synchronous functions over these
 * plain objects; only sources and incidents' storage do I/O.
 */

/** One line as a source delivers it. */
export interface RawLine {
  /** The source's configured name (e.g. "haproxy", "app-api"). */
  source: string;
  /** The line without its trailing newline; at most the source's max line length. */
  line: string;
  /** How the source says its lines are written. */
  format: SourceFormat;
  /** Wall-clock time the line was read (ms since epoch); used only when the line has no time of its own. */
  receivedAt: number;
}

/** haproxy: HAProxy logs (any of its formats, with or without a syslog prefix); json: JSON lines; text: plain text (an app log, optionally with a regex). */
export type SourceFormat = 'haproxy' | 'json' | 'text';

export type LineKind = 'http' | 'tcp' | 'event' | 'conn_error' | 'app' | 'unknown';

/**
 * Field names, where a line has them (the contract of `monitor explain --json`):
 * client_ip, client_port, accept_date, frontend, backend, server, status,
 * bytes_read, termination_state, method, path (with the query string),
 * http_version, captured_request_headers (string[]), actconn, feconn, beconn,
 * srv_conn, retries, srv_queue, backend_queue, timers ({TR,Tw,Tc,Tr,Ta} or
 * {Tw,Tc,Tt} for tcp; numbers, -1 where HAProxy wrote -1), event (for kind
 * "event": server_down, server_up, backend_no_server, proxy_started,
 * proxy_stopped, worker_exited, haproxy_started, ...).
 * Also, when present: host, user_agent, referer (from the captured headers or the
 * project's own log-format; user_agent and referer from a combined-format
 * line too), real_ip, request_id, ssl_error (conn_error),
 * message and level (app lines), syslog_host, program, pid.
 */
export type Fields = Record<string, unknown>;

export interface ParsedLine {
  /** False when the line did not parse as anything known (it is then counted and sampled, never thrown). */
  ok: boolean;
  kind: LineKind;
  /** Event time from the line itself (ms since epoch), or null when it has none. Windows use this, not the wall clock. */
  time: number | null;
  fields: Fields;
  /**
   * Set only when the line's own time was more than monitor.max_clock_skew
   * ahead of the time it was received (parse/clock-skew.ts): how far ahead, in
   * ms. `time` is then the receive time; `fields` keep what the line said.
   */
  timeAheadMs?: number;
}

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export type SubjectType = 'ip' | 'backend' | 'server' | 'host' | 'path';

export interface Subject {
  type: SubjectType;
  value: string;
}

/** An action a rule suggests; the policy (a later stage) decides whether anything is done. */
export interface SuggestedAction {
  type: 'block_ip' | 'notify' | 'escalate';
  target?: string;
  ttl_s?: number;
}

/** What triage reports when a rule's condition is met for a subject. */
export interface Finding {
  rule: string;
  category: string;
  severity: Severity;
  subject: Subject;
  /** Event time of the line that met the condition (ms since epoch). */
  time: number;
  /** The count (or distinct count) that met the condition. */
  count: number;
  actions: SuggestedAction[];
  /** True when the rule asks for LLM analysis (novel errors, rules that say so). */
  escalate: boolean;
  /** The line that met the condition, for samples. */
  sample: string;
  /** Earlier lines counted toward it (oldest first; rules that keep context only). */
  context?: string[];
}
