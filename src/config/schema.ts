/**
 * The daemon's configuration schema: the single source of its types and
 * defaults. Objects are strict (an unknown key is an error), so a typo stops
 * start-up instead of being silently ignored. Free-text strings (commands, files,
 * schedules, page text) pass the shared text check (validate/text.ts): a control
 * character or surrounding whitespace is an error, never trimmed. Pure: no I/O
 * here (see check.ts).
 */
import { z } from 'zod';
import cron from 'node-cron';
import { durationMs, durationSchema as duration } from '../util/duration.js';
import { isValidCidrOrIp, parseIp } from '../validate/ip.js';
import { safeText } from '../validate/text.js';
import { compileTextPattern } from '../pipeline/parse/text-pattern.js';
import { notificationsSchema } from './notifications.js';
import { analysisConfigSchema } from './analysis.js';
import { redactionConfigSchema } from './redaction.js';
import { fleetConfigSchema, type FleetSettings } from './fleet.js';

const port = z.number().int().min(1).max(65535);

/**
 * The intake ring's default size: 16 MiB, about 450 ms of HAProxy's lines at
 * 100,000 lines a second (370 bytes each), what it holds while the daemon
 * does not read (a restart, the machine busy elsewhere). 1 MiB (28 ms) lost
 * lines at that pace. HAProxy allocates it once.
 */
export const DEFAULT_INTAKE_RING_BYTES = 16 * 1024 * 1024;
const cidr = z.string().refine(isValidCidrOrIp, 'an IPv4 or IPv6 address or CIDR');
/** An address to listen on: a single IPv4 or IPv6 address (0.0.0.0 and :: for all). */
const listenAddress = z.string().refine((v) => {
  const p = parseIp(v);
  return p !== null && !p.isCidr;
}, 'an IPv4 or IPv6 address, such as 127.0.0.1, 0.0.0.0 or ::');
/** Absolute or relative file paths: no characters that could break a HAProxy config line. */
const path = z.string().min(1).regex(/^[A-Za-z0-9._/@+-]+$/, 'a path of letters, digits and ._/@+- only');

const timeouts = z
  .strictObject({
    http_request: duration.default('30s'),
    connect: duration.default('10s'),
    client: duration.default('5m'),
    server: duration.default('10m'),
    http_keep_alive: duration.default('30s'),
    queue: duration.default('2m'),
    check: duration.default('10s'),
    tarpit: duration.default('10s'),
    /** Server and tunnel timeout for long-lived backends and server-sent events. */
    long_lived: duration.default('6h'),
  })
  .prefault({});

const rateLimits = z
  .strictObject({
    /** Requests per 10 s above which a client is tarpitted (answered 429 slowly). */
    tarpit_requests_10s: z.number().int().positive().default(3000),
    /** Requests per 10 s above which a client is denied at once (429). */
    deny_requests_10s: z.number().int().positive().default(5000),
    /** New connections per 10 s above which a client is denied (429). */
    connections_10s: z.number().int().positive().default(500),
    /** Concurrent connections above which a client is denied (429). */
    concurrent_connections: z.number().int().positive().default(500),
    /** HTTP errors per 30 s above which a client is tarpitted (403). */
    errors_30s: z.number().int().positive().default(100),
    /** Entries in the tracking stick table (IPv4 and IPv6 clients alike). */
    table_size: z.string().regex(/^\d+[km]?$/).default('200k'),
    table_expire: duration.default('10m'),
  })
  .prefault({});

const http2 = z
  .strictObject({
    /** tune.h2.fe.max-total-streams (HAProxy >= 2.9). */
    max_total_streams: z.number().int().positive().default(2000),
    /** tune.h2.fe.glitches-threshold: CVE-2023-44487 rapid-reset protection (HAProxy >= 2.9). */
    glitches_threshold: z.number().int().positive().default(50),
  })
  .prefault({});

const haproxy = z
  .strictObject({
    /** The haproxy binary used for checks and, in managed mode, to run HAProxy. */
    binary: safeText().min(1).default('haproxy'),
    /** Where haproxy.cfg is written. Default: <state_dir>/haproxy/haproxy.cfg (managed), /etc/haproxy/haproxy.cfg (systemd). */
    config_path: path.optional(),
    /** Where the rendered maps, lists and pages go. Default: <dir of config_path>/haproxy-manager. */
    generated_dir: path.optional(),
    /** Master CLI socket. Default: <state_dir>/run/haproxy-master.sock (managed), /run/haproxy-master.sock (systemd). */
    master_socket: path.optional(),
    /** Stats socket at level admin, rendered into the config. Default: <state_dir>/run/haproxy.sock (managed), /run/haproxy/admin.sock (systemd). */
    stats_socket: path.optional(),
    /** systemd mode only: how to reload the distribution's haproxy.service. */
    reload_via: z.enum(['master_socket', 'systemctl']).default('master_socket'),
    systemd_unit: z.string().regex(/^[A-Za-z0-9@._-]+$/).default('haproxy.service'),
    bind_address: listenAddress.default('127.0.0.1'),
    http_port: port.default(8080),
    /** HTTPS listener; null for none. */
    https_port: port.nullable().default(null),
    /** Stats page, always bound to 127.0.0.1; null for none. */
    stats_port: port.nullable().default(8404),
    /** Fail loudly when a port is already taken instead of sharing it (SO_REUSEPORT off). */
    noreuseport: z.boolean().default(false),
    maxconn: z.number().int().positive().default(4000),
    /** HAProxy's own log target: "stdout", "udp://127.0.0.1:514" or a unix socket path; null for none. */
    log_target: z.string().regex(/^(stdout|stderr|udp:\/\/[0-9a-fA-F.:[\]]+:\d+|\/[A-Za-z0-9._/-]+)$/).nullable().default(null),
    /**
     * Targets HAProxy also logs to, besides the daemon's intake (the same lines, RFC 3164).
     * Default: ["/dev/log"] in systemd mode, so the distribution's /var/log/haproxy.log keeps
     * growing as before the daemon took over; none in managed mode.
     */
    also_log_to: z.array(z.string().regex(/^(udp:\/\/[0-9a-fA-F.:[\]]+:\d+|\/[A-Za-z0-9._/-]+)$/, 'a unix socket path or udp://address:port')).max(4).nullable().default(null),
    user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).nullable().default(null),
    group: z.string().regex(/^[a-z_][a-z0-9_-]*$/).nullable().default(null),
    /** How long old workers may keep serving after a reload; null for HAProxy's default (unbounded). */
    hard_stop_after: duration.nullable().default(null),
    /** Timeout for every external command and socket call. */
    command_timeout: duration.default('30s'),
    /** Managed mode: how often the supervisor checks HAProxy. */
    supervise_interval: duration.default('2s'),
    /** How often the watchdog runs its deep check (listeners, stats socket, an HTTP answer). */
    watchdog_interval: duration.default('10s'),
    /** Real-client-IP derivation: how many X-Forwarded-For hops to walk from the right. */
    xff_max_hops: z.number().int().min(1).max(10).default(5),
    default_page: z
      .strictObject({
        title: safeText().max(200).default('Site not configured'),
        message: safeText().max(1000).default('No site is configured for this address.'),
        /** 404 by default: a 200 for a host nobody serves misleads scanners and uptime checks (the original answered 200). */
        status: z.number().int().min(200).max(599).default(404),
      })
      .prefault({}),
    /** The page a site in maintenance mode answers with (503, Retry-After from the site's option). */
    maintenance_page: z
      .strictObject({
        title: safeText().max(200).default('Down for maintenance'),
        message: safeText().max(1000).default('This site is down for maintenance and will be back shortly.'),
      })
      .prefault({}),
    /**
     * HTML pages HAProxy serves instead of its own 502, 503 and 504, for every
     * site without its own (a site's error_pages option wins). Absolute paths;
     * `haproxy -c` refuses a file it cannot read.
     */
    error_pages: z
      .strictObject({
        '502': path.regex(/^\//, 'an absolute path').nullable().default(null),
        '503': path.regex(/^\//, 'an absolute path').nullable().default(null),
        '504': path.regex(/^\//, 'an absolute path').nullable().default(null),
      })
      .prefault({}),
    timeouts,
    rate_limits: rateLimits,
    http2,
  })
  .prefault({});

const api = z
  .strictObject({
    listen: z.union([listenAddress, z.literal('localhost')]).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    /**
     * `key` (the default): every request but GET /health needs the API key; without a
     * configured one the daemon creates <state_dir>/api-key (0600) at its first start.
     * `none`: no authentication at all, for throwaway setups; loopback only.
     */
    auth: z.enum(['key', 'none']).default('key'),
    /** A file holding the API key (mode 0600). The key may also come from HAPROXY_MANAGER_API_KEY or a systemd credential named api-key. */
    key_file: safeText().optional(),
    /**
     * A file holding the read-only token that GET /metrics also accepts (and
     * nothing else does), for a Prometheus server that must not hold the API
     * key. Without one the daemon creates <state_dir>/metrics-token (0600).
     */
    metrics_token_file: safeText().optional(),
    /**
     * A file holding the read-only viewer key: it logs in to the console as a
     * viewer and opens the API's GET routes (never a private key). Without
     * one the daemon creates <state_dir>/viewer-key (0600).
     */
    viewer_key_file: safeText().optional(),
    /** The operator console at / on the API's port (false: the API alone). */
    console: z.boolean().default(true),
    /** How long a console login lasts (it also ends after session_idle without a request). */
    session_ttl: duration.default('12h'),
    session_idle: duration.default('1h'),
    body_limit: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
  })
  .prefault({});

const network = z
  .strictObject({
    /** Client addresses exempt from rate limits (judged on the real client IP, never a proxy header from an untrusted peer). */
    local_ranges: z.array(cidr).default(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']),
  })
  .prefault({});

const blocks = z
  .strictObject({
    /** node-cron schedule on which expired temporary blocks are removed. */
    expiry_schedule: safeText().default('* * * * *'),
    /** Longest temporary block accepted, in minutes (default one year). */
    max_duration_minutes: z.number().int().positive().default(525600),
  })
  .prefault({});

/** Guardrails of the remediation stage: limits no policy file can loosen. */
const remediation = z
  .strictObject({
    /**
     * Addresses and ranges the daemon never blocks (the operator's own, a
     * monitoring service). Loopback, network.local_ranges, trusted addresses
     * and trusted proxies are protected anyway.
     */
    protected: z.array(cidr).default([]),
    /**
     * Enforced actions that can hurt the host per rolling hour: range blocks,
     * trust, server state, reloads, restarts, anything the model asked for.
     * A rule's block of a single address is not counted (capacity bounds it).
     */
    max_actions_per_hour: z.number().int().min(0).default(100),
    /** Blocks live at once (capacity: HAProxy's map holds millions); a block beyond it is refused. */
    max_concurrent_blocks: z.number().int().min(0).max(10_000_000).default(100_000),
    /** The same action on the same target is not enforced or proposed twice within this. */
    cooldown: duration.default('10m'),
    /** The longest block the daemon makes (a longer TTL is cut to it). */
    max_block_ttl: duration.default('30d'),
    /**
     * Many addresses of one range blocked within `window` become one range
     * block (/prefix_v4, /prefix_v6), held to the guardrails like any block
     * and counted in the hourly cap: proposed to a person by default,
     * enforced when `mode: enforce`, never when `mode: off`.
     */
    range_aggregation: z
      .strictObject({
        mode: z.enum(['propose', 'enforce', 'off']).default('propose'),
        threshold: z.number().int().min(2).max(65_536).default(16),
        window: duration.default('10m'),
        prefix_v4: z.number().int().min(16).max(31).default(24),
        prefix_v6: z.number().int().min(32).max(127).default(64),
      })
      .prefault({}),
    /** The operator is told once (then not again for `quiet`) when more blocks than this are enforced in a minute. */
    block_spike: z
      .strictObject({
        per_minute: z.number().int().min(1).default(60),
        quiet: duration.default('1h'),
      })
      .prefault({}),
  })
  .prefault({});

const acme = z
  .strictObject({
    /** "letsencrypt", "letsencrypt-staging", or any ACME directory URL. */
    directory: z.union([z.enum(['letsencrypt', 'letsencrypt-staging']), z.url({ protocol: /^https?$/ })]).default('letsencrypt'),
    /** Contact email given to the CA (expiry notices). */
    email: z.email().nullable().default(null),
    /** External Account Binding, for CAs that need it; the HMAC key is read from a file (mode 0600). */
    eab: z.strictObject({ kid: safeText().min(1).max(200), hmac_key_file: safeText().min(1) }).nullable().default(null),
    /** Key type of issued certificates. */
    key_type: z.enum(['ecdsa-p256', 'rsa-2048', 'rsa-4096']).default('ecdsa-p256'),
    /** Loopback port of the HTTP-01 responder HAProxy routes /.well-known/acme-challenge/ to. */
    challenge_port: port.default(8688),
    /** A CA bundle to trust for the ACME server's own TLS (a private CA); null for the system's. */
    ca_file: safeText().min(1).nullable().default(null),
    /** DNS-01 hook for wildcards: run as `<hook> set <record> <value>` and `<hook> clear <record> <value>`. */
    dns_hook: safeText().min(1).nullable().default(null),
    /** Wait after the DNS hook before asking the CA to validate. */
    dns_propagation_wait: duration.default('0s'),
    /** node-cron schedule of the renewal check (twice a day), plus a random delay up to renew_jitter. */
    renew_schedule: safeText().default('17 3,15 * * *'),
    renew_jitter: duration.default('30m'),
    /** Timeout of each ACME request and of the whole validation wait. */
    timeout: duration.default('90s'),
    /** Retries of a failed renewal start at this delay and double up to a day. */
    retry_base: duration.default('15m'),
    /**
     * Before an HTTP-01 order, fetch a token of our own from
     * http://<name>/.well-known/acme-challenge/ (each address the name resolves
     * to, HAProxy's HTTP port) so a name that does not reach this host fails,
     * named, before the CA is asked. Off when the host cannot reach its own
     * public address (NAT without hairpinning).
     */
    self_check: z.boolean().default(true),
    /** The DNS server the self-check asks (host:port, e.g. 127.0.0.1:53); null: the system resolver (getaddrinfo, /etc/hosts). */
    self_check_resolver: z
      .string()
      .regex(/^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/, 'an IP address with an optional port: 127.0.0.1:53 or [::1]:53')
      .nullable()
      .default(null),
  })
  .prefault({});

const monitorSource = z.strictObject({
  /** A name for the source: shows in incidents and the status API. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'lower-case letters, digits and ._- (at most 64)'),
  /** file: follow a file across rotations; journald: `journalctl -f` for some units. */
  type: z.enum(['file', 'journald']),
  /** The file to follow (type file). */
  path: safeText().min(1).optional(),
  /** Units to read (type journald); none: the whole journal. */
  units: z.array(z.string().regex(/^[A-Za-z0-9@._:-]+$/)).optional(),
  /** haproxy: HAProxy's logs; json: JSON lines; text: plain text. */
  format: z.enum(['haproxy', 'json', 'text']).default('text'),
  /** A file that exists at start with no saved position is read from its end (like tail -f) or its beginning. */
  start_at: z.enum(['end', 'beginning']).default('end'),
  /** Text sources: a regular expression with named groups (time, level, message, and any others, kept as fields). */
  regex: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        compileTextPattern(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
});

const monitor = z
  .strictObject({
    enabled: z.boolean().default(true),
    /**
     * How HAProxy's own lines reach the daemon (unless haproxy.log_target names another
     * target). The default: a unix stream socket the daemon owns, fed by an HAProxy ring
     * (`log ring@...`, the ring forwarding to `server unix@<socket>`). Only the socket's owner
     * and `group` (HAProxy's workers) can connect: another local user cannot write a line.
     * null: no socket (then only `syslog`, if set, receives HAProxy's lines).
     */
    intake: z
      .strictObject({
        /** Default: <state_dir>/run/log/haproxy.sock (managed), /run/haproxy-manager/log/haproxy.sock (systemd). */
        socket: z.string().regex(/^[A-Za-z0-9._/-]+$/).max(100).optional(),
        /** The group that may connect (HAProxy's workers). Default: haproxy.group, else "haproxy" in systemd mode, else none (owner only). */
        group: z.string().regex(/^[a-z_][a-z0-9_-]*$/).nullable().optional(),
        /** The ring's size in bytes: what HAProxy holds while the daemon is away (a restart) or not reading. */
        ring_size: z.number().int().min(16_384).max(256 * 1024 * 1024).default(DEFAULT_INTAKE_RING_BYTES),
      })
      .nullable()
      .prefault({}),
    /**
     * /health is degraded when HAProxy served requests but no line reached the daemon for
     * this long (a broken intake would silently blind the monitor).
     */
    intake_silence: duration.default('10m'),
    /**
     * A UDP syslog listener on loopback, only when configured. Risk: any local user can send
     * datagrams to it, so a forged line could get a public address blocked; prefer `intake`.
     */
    syslog: z.strictObject({ address: safeText().default('127.0.0.1'), port: port.default(5514) }).nullable().default(null),
    sources: z.array(monitorSource).default([]),
    /** The operator's rule files; a file named like a shipped one replaces it. */
    rules_dir: safeText().min(1).default('/etc/haproxy-manager/rules.d'),
    /** An incident resolves after this long (in log time) without a new finding. */
    incident_quiet: duration.default('10m'),
    /**
     * How far a line's own time may be ahead of the clock when it arrives. A line further
     * ahead gets its arrival time instead (counted in /api/monitor/status as
     * pipeline.time_clamped): one future-dated line must not move log time on and resolve
     * every open incident.
     */
    max_clock_skew: duration.default('5m'),
    max_samples: z.number().int().min(1).max(100).default(10),
    max_open_incidents: z.number().int().min(10).max(1_000_000).default(10_000),
    /** The operator's remediation policy; when it exists it replaces the shipped config/policy.yaml. */
    policy_file: safeText().min(1).default('/etc/haproxy-manager/policy.yaml'),
    /** Application lines seen per source before a never-seen error template counts as novel. */
    novelty_warmup: z.number().int().min(0).default(1000),
  })
  .prefault({});

/** A retention period: a duration of at least a day, or null to keep forever. */
const keepFor = duration.refine((d) => !/^\d+(ms|s|m|h|d)$/.test(d) || durationMs(d) >= 86_400_000, 'at least 1d (or null: keep forever)').nullable();

/**
 * What the daemon deletes, and when (storage/retention.ts, retention/unit.ts).
 * Configuration (domains, servers, blocks, trusted addresses, certificates)
 * is never pruned; only history is. Delivered and dead notifications follow
 * notifications.outbox.keep.
 */
const retention = z
  .strictObject({
    /** Audit log entries older than this are deleted. */
    audit: keepFor.default('90d'),
    /**
     * Resolved incidents this long after they resolved are deleted, with their
     * analyses and actions; an incident with an action still in effect (a
     * block not expired nor reverted, a proposal not yet decided) is kept.
     * Open incidents are never deleted.
     */
    incidents: keepFor.default('90d'),
    /** Actions not tied to an incident (a person's, through the API), by age; one in effect is kept. */
    actions: keepFor.default('90d'),
    /** LLM analyses, by age (an incident's go with it anyway). */
    analyses: keepFor.default('90d'),
    /** Previous versions of each certificate file kept in <state_dir>/cert-backups (they hold private keys). */
    cert_backups: z.number().int().min(0).max(1000).default(3),
    /** node-cron schedule of the pruning run (hourly); it also runs at start. */
    schedule: safeText().refine((v) => cron.validate(v), 'a node-cron schedule, such as "41 * * * *"').default('41 * * * *'),
    /** Rows deleted per transaction: a short write lock, then the event loop runs before the next batch. */
    batch_size: z.number().int().min(1).max(100_000).default(1000),
    /** At most this many rows per table in one run; the rest waits for the next run. */
    max_rows_per_run: z.number().int().min(1).default(200_000),
  })
  .prefault({});

const log = z
  .strictObject({
    level: z.enum(['debug', 'info', 'notice', 'warn', 'error', 'crit']).default('info'),
    format: z.enum(['text', 'json']).default('text'),
  })
  .prefault({});

export const configSchema = z.strictObject({
  /** managed: the daemon runs HAProxy itself; systemd: the distribution's haproxy.service does. */
  mode: z.enum(['managed', 'systemd']).default('managed'),
  /** State, sockets and generated files (relative paths are relative to the config file). */
  state_dir: path.default('./var'),
  haproxy,
  api,
  network,
  blocks,
  acme,
  monitor,
  remediation,
  /** Email and webhook channels, routes by event kind, severity and category, digests, the outbox. */
  notifications: notificationsSchema.prefault({}),
  /** The LLM analysis tier (off by default: nothing leaves the host unless turned on). Which incidents go to it is policy (policy.yaml `analyse`). */
  analysis: analysisConfigSchema.prefault({}),
  /** The one redactor applied to incident samples (and so to everything that shows them): the operator's extra secret key names. */
  redaction: redactionConfigSchema.prefault({}),
  /** How long history (audit, incidents, actions, analyses, certificate backups) is kept, and the pruning run. */
  retention,
  log,
  /** Several nodes sharing state through PostgreSQL (config/fleet.ts); absent: a single node on SQLite. */
  fleet: fleetConfigSchema.nullable().default(null),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** The configuration after defaults that depend on the mode and on paths are resolved. */
export interface Config extends ParsedConfig {
  /** Absolute paths resolved from state_dir and the mode. */
  paths: {
    stateDir: string;
    database: string;
    configPath: string;
    generatedDir: string;
    stagingDir: string;
    lkgDir: string;
    runDir: string;
    masterSocket: string;
    statsSocket: string;
    pidFile: string;
    /** Combined PEM files HAProxy loads (crt-list). */
    certDir: string;
    /** Previous versions of replaced certificates. */
    certBackupDir: string;
    /** The ACME account key and state. */
    acmeDir: string;
    /** The API key the daemon generates when none is configured (0600). */
    apiKeyFile: string;
    /** The metrics token: api.metrics_token_file, else the generated <state_dir>/metrics-token. */
    metricsTokenFile: string;
    /** The console's read-only viewer key: api.viewer_key_file, else the generated <state_dir>/viewer-key. */
    viewerKeyFile: string;
  };
  /**
   * The API key, from the environment, a credential or api.key_file (never from the
   * YAML itself). Null when none is configured: the running daemon's cfg then carries
   * the generated key (see config/api-key.ts), or null under `api.auth: none`.
   */
  apiKey: string | null;
  /** The file the configuration was read from, if any. */
  source: string | null;
  /**
   * The resolved log intake (monitor.intake): the unix socket HAProxy's ring forwards
   * to and the group that may connect; null when HAProxy does not log to it.
   */
  intake: { socket: string; group: string | null; ringSize: number } | null;
  /** The resolved `fleet` settings (database URL read from its file, checked); null: a single node. */
  fleetSettings: FleetSettings | null;
}
