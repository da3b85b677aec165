/**
 * HAProxy's event lines (kind 'event'), from its logs and from the master's
 * stderr (`[NOTICE]   (123) : ...`, also `[WARNING] 328/151600 (123) : ...`
 * before 2.4), plus systemd's lines about the haproxy unit. fields.event is
 * one of:
 *   server_down        `Server be/s1 is DOWN, reason: ..., info: "...", check duration: 0ms. 0 active and 0 backup servers left. ...`
 *                      (also `is DOWN/READY (leaving forced maintenance)`, `is DOWN (leaving forced drain)`)
 *   server_up          `Server be/s1 is UP, reason: Layer7 check passed, ...`, `is UP/READY (leaving forced maintenance)`,
 *                      `('fqdn') is UP/READY (resolves again)`, `administratively READY thanks to valid DNS answer`
 *   server_maintenance `is going DOWN for maintenance (...)`, `was DOWN and now enters maintenance`, `remains in ... maintenance`
 *   server_drain       `enters drain state`, `remains in forced drain mode`
 *   server_stopping    `Server be/s1 is stopping` (disable-on-404)
 *   server_state       any other `Server be/s ...` line
 *   server_address_changed `be/s1 changed its IP from a to b by DNS cache`
 *   check_failed, check_passed  `Health check for server be/s1 failed|succeeded, ..., status: 1/3 UP.` (option log-health-checks; also `Agent check`)
 *   backend_no_server  `backend be has no server available!` (`backend 'be' ...` on stderr, `proxy be ...` before 1.5)
 *   proxy_started      `Proxy web started.`
 *   proxy_stopped      `Proxy web stopped (...)`, `Proxy web hard-stopped (...)`, `Stopping frontend web in 0 ms.`
 *   proxy_paused, proxy_resumed  `Paused frontend web.`, `Pausing ...`, `Resuming ...`, `Enabling ...`
 *   proxy_limit_reached `Proxy web reached process FD limit ...`, `... the configured maximum connection limit ...`
 *   proxy_status       `SIGHUP: Proxy web has 1 active servers ...`
 *   worker_started     `New worker (456) forked`, `New worker #1 (456) forked`, `New program 'x' (456) forked`
 *   worker_exited      `Current worker (123) exited with code 143 (Terminated)`, `Former worker ...`, `Process 123 exited ...`
 *                      (worker: 'current' | 'former'; a current worker exiting is a stop or a crash, a former one a finished reload)
 *   haproxy_started    `Loading success.`, systemd `Started HAProxy ...`
 *   haproxy_load_failed `Loading failure!`
 *   haproxy_reloaded   `Reloading HAProxy`, `Reexecuting Master process`, systemd `Reloading/Reloaded HAProxy ...`
 *   haproxy_stopping   `Exiting Master process...`, `exit-on-failure: killing every processes with SIGTERM`, systemd `Stopping HAProxy ...`
 *   haproxy_stopped    `All workers exited. Exiting... (0)`, systemd `Stopped HAProxy ...`, `haproxy.service: Main process exited, ...`
 *   haproxy_version    `haproxy version is 2.6.12-1`
 *   alert, warning, notice  any other `[ALERT]`, `[WARNING]`, `[NOTICE]` line (also `[ERROR]`: alert, `[INFO]`/`[DEBUG]`: notice)
 *   message            any other prose whose syslog tag is haproxy (set by haproxy-line.ts)
 * Other fields: message (the event's text), level (error/warn/info/debug from
 * the `[TAG]`, else the syslog severity), pid (from `(123)`), backend, server,
 * backup, reason, info, check_code, check_duration_ms, check_status,
 * active_servers, backup_servers, proxy, proxy_type, worker_pid, exit_code,
 * exit_reason, version, old_address, new_address.
 */
import type { Fields, ParsedLine } from '../types.js';

// [TAG] -> [event name for an otherwise unknown message, level]
const TAGS = new Map<string, [string, string]>([
  ['NOTICE', ['notice', 'info']],
  ['WARNING', ['warning', 'warn']],
  ['ALERT', ['alert', 'error']],
  ['ERROR', ['alert', 'error']],
  ['EMERG', ['alert', 'error']],
  ['INFO', ['notice', 'info']],
  ['DEBUG', ['notice', 'debug']],
]);

const MAX_MESSAGE = 2048;

const SEVERITY_LEVEL = ['error', 'error', 'error', 'error', 'warn', 'info', 'info', 'debug'];

const RE_SERVER = /^(Backup )?Server ([^\s/]+)\/(\S+?)(?: \('[^']*'\))? (.*)$/;
const RE_CHECK = /^(Health|Agent) check for (backup )?server ([^\s/]+)\/(\S+) (failed|succeeded|conditionally succeeded)/;
const RE_NO_SERVER = /^(?:backend|proxy|listen) '?([^'\s]+)'? has no server available/;
const RE_PROXY = /^Proxy (\S+) (started|stopped|hard-stopped|reached)/;
const RE_STOPPING = /^Stopping (frontend|backend|proxy|listener|peers section|peers) (\S+) in (\d+) ms/;
const RE_PAUSE = /^(Paused|Pausing|Resumed|Resuming|Enabling|Enabled) (frontend|backend|proxy|listener) (\S+?)\.?$/;
const RE_NEW_WORKER = /^New (?:worker|program) (?:'[^']*' )?(?:#\d+ )?\((\d+)\) forked/;
const RE_EXITED = /^(Current|Former) (?:worker|program) (?:'[^']*' )?(?:#\d+ )?\(?(\d+)\)? exited with code (-?\d+)(?: \(([^)]*)\))?/;
const RE_PROCESS_EXITED = /^Process (\d+) exited with code (-?\d+)(?: \(([^)]*)\))?/;
const RE_ALL_EXITED = /^All workers exited\. Exiting\.\.\. \((-?\d+)\)/;
const RE_VERSION = /^(?:haproxy|HAProxy|HA-Proxy) version (?:is )?(\S+)/;
const RE_ADDR = /^([^\s/]+)\/(\S+) changed its (?:IP|FQDN) from (\S+) to (\S+)/;
const RE_SYSTEMD_EXIT = /^haproxy(?:@\S*)?\.service: Main process exited, code=\w+, status=(\d+)(?:\/(\w+))?/;

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** reason/info/code/check duration/servers left, from a server or check line's tail. */
function serverDetails(f: Fields, rest: string): void {
  const r = rest.indexOf('reason: ');
  if (r >= 0) {
    let end = rest.length;
    for (const stop of [', info: ', ', code: ', ', check duration: ', ', status: ', '. ']) {
      const k = rest.indexOf(stop, r + 8);
      if (k >= 0 && k < end) end = k;
    }
    f.reason = rest.slice(r + 8, end).replace(/\.$/, '');
  } else {
    const open = rest.indexOf('(');
    const close = rest.indexOf(')', open + 1);
    if (open >= 0 && close > open) {
      const v = rest.slice(open + 1, close).trim();
      if (v !== '') f.reason = v;
    }
  }
  const code = /, code: (\d+)/.exec(rest);
  if (code) f.check_code = Number(code[1]);
  const info = /, info: "((?:[^"\\]|\\.)*)"/.exec(rest);
  if (info) f.info = info[1];
  const dur = /check duration: (\d+)ms/.exec(rest);
  if (dur) f.check_duration_ms = Number(dur[1]);
  const left = /(\d+) active and (\d+) backup servers (?:left|online)/.exec(rest);
  if (left) {
    f.active_servers = Number(left[1]);
    f.backup_servers = Number(left[2]);
  }
  const st = /, status: (\d+\/\d+ \w+)/.exec(rest);
  if (st) f.check_status = st[1];
}

function serverEvent(rest: string): string {
  if (rest.startsWith('is going DOWN for maintenance') || (rest.indexOf('maintenance') >= 0 && !/^is (UP|DOWN|READY)/.test(rest))) return 'server_maintenance';
  if (rest.startsWith('is DOWN')) return 'server_down';
  if (rest.startsWith('is UP') || rest.startsWith('is READY') || rest.startsWith('administratively READY')) return 'server_up';
  if (rest.startsWith('is stopping') || rest.startsWith('is NOLB')) return 'server_stopping';
  if (rest.indexOf('drain') >= 0) return 'server_drain';
  return 'server_state';
}

/** Classifies an event message; null when it is not one HAProxy (or systemd about HAProxy) writes. */
export function classifyEvent(msg: string, f: Fields): boolean {
  const c = msg.charCodeAt(0);
  let m: RegExpExecArray | null;
  if (c === 83 /* S */ || c === 66 /* B */) {
    if ((m = RE_SERVER.exec(msg))) {
      const rest = m[4] as string;
      f.event = serverEvent(rest);
      f.backend = m[2];
      f.server = m[3];
      if (m[1]) f.backup = true;
      serverDetails(f, rest);
      return true;
    }
    if ((m = RE_STOPPING.exec(msg))) {
      f.event = 'proxy_stopped';
      f.proxy_type = m[1];
      f.proxy = m[2];
      return true;
    }
    if (msg.startsWith('Stopping HAProxy')) return set(f, 'haproxy_stopping');
    if (msg.startsWith('Started HAProxy')) return set(f, 'haproxy_started');
    if (msg.startsWith('Stopped HAProxy')) return set(f, 'haproxy_stopped');
    if (msg.startsWith('SIGHUP: Proxy ')) {
      f.event = 'proxy_status';
      const sp = msg.indexOf(' ', 14);
      f.proxy = msg.slice(14, sp < 0 ? msg.length : sp);
      return true;
    }
  }
  if ((m = RE_NO_SERVER.exec(msg))) {
    f.event = 'backend_no_server';
    f.backend = m[1];
    return true;
  }
  if ((m = RE_CHECK.exec(msg))) {
    f.event = m[5] === 'failed' ? 'check_failed' : 'check_passed';
    f.check = m[1] === 'Agent' ? 'agent' : 'health';
    f.backend = m[3];
    f.server = m[4];
    if (m[2]) f.backup = true;
    serverDetails(f, msg.slice(m[0].length));
    return true;
  }
  if ((m = RE_PROXY.exec(msg))) {
    f.event = m[2] === 'started' ? 'proxy_started' : m[2] === 'reached' ? 'proxy_limit_reached' : 'proxy_stopped';
    f.proxy = m[1];
    return true;
  }
  if ((m = RE_PAUSE.exec(msg))) {
    f.event = m[1]!.startsWith('Pause') ? 'proxy_paused' : 'proxy_resumed';
    f.proxy_type = m[2];
    f.proxy = m[3];
    return true;
  }
  if ((m = RE_NEW_WORKER.exec(msg))) {
    f.event = 'worker_started';
    f.worker_pid = Number(m[1]);
    return true;
  }
  if ((m = RE_EXITED.exec(msg))) {
    f.event = 'worker_exited';
    f.worker = m[1] === 'Current' ? 'current' : 'former';
    f.worker_pid = Number(m[2]);
    f.exit_code = Number(m[3]);
    if (m[4]) f.exit_reason = m[4];
    return true;
  }
  if ((m = RE_PROCESS_EXITED.exec(msg))) {
    f.event = 'worker_exited';
    f.worker_pid = Number(m[1]);
    f.exit_code = Number(m[2]);
    if (m[3]) f.exit_reason = m[3];
    return true;
  }
  if (msg.startsWith('Loading success')) return set(f, 'haproxy_started');
  if (msg.startsWith('Loading failure')) return set(f, 'haproxy_load_failed');
  if (msg.startsWith('Reloading HAProxy') || msg.startsWith('Reexecuting Master process') || msg.startsWith('Reloaded HAProxy')) return set(f, 'haproxy_reloaded');
  if (msg.startsWith('Exiting Master process') || msg.startsWith('exit-on-failure:')) return set(f, 'haproxy_stopping');
  if ((m = RE_ALL_EXITED.exec(msg))) {
    f.event = 'haproxy_stopped';
    f.exit_code = Number(m[1]);
    return true;
  }
  if ((m = RE_SYSTEMD_EXIT.exec(msg))) {
    f.event = 'haproxy_stopped';
    f.exit_code = num(m[1]);
    if (m[2]) f.exit_reason = m[2];
    return true;
  }
  if ((m = RE_VERSION.exec(msg))) {
    f.event = 'haproxy_version';
    f.version = m[1];
    return true;
  }
  if ((m = RE_ADDR.exec(msg))) {
    f.event = 'server_address_changed';
    f.backend = m[1];
    f.server = m[2];
    f.old_address = m[3];
    f.new_address = m[4];
    return true;
  }
  return false;
}

function set(f: Fields, event: string): boolean {
  f.event = event;
  return true;
}

/**
 * An event line whose message starts at `p`. `time` and `pri` come from the
 * syslog header. Returns null when the line is not an event.
 */
export function parseEvent(s: string, p: number, time: number | null, pri: number | null): ParsedLine | null {
  let msg: string;
  let tag: [string, string] | undefined;
  let pid: number | undefined;
  if (s.charCodeAt(p) === 91) {
    // [NOTICE]   (123) : msg   |   [WARNING] 328/151600 (123) : msg   |   [ALERT] msg
    const close = s.indexOf(']', p);
    tag = close > 0 && close - p < 10 ? TAGS.get(s.slice(p + 1, close)) : undefined;
    if (tag === undefined) return null;
    let i = close + 1;
    while (s.charCodeAt(i) === 32) i++;
    const m = /^(?:\d+\/\d+ )?\((\d+)\) : ?/.exec(s.slice(i, i + 40));
    if (m) {
      pid = Number(m[1]);
      i += m[0].length;
    } else if (s.charCodeAt(i) === 58) i++;
    msg = s.slice(i).trim();
  } else {
    msg = s.slice(p).trim();
  }
  // HAProxy's event messages are short; a longer one is cut before the
  // regexes see it, so no input can make them slow.
  if (msg.length > MAX_MESSAGE) msg = msg.slice(0, MAX_MESSAGE);
  const f: Fields = {};
  const known = msg !== '' && classifyEvent(msg, f);
  if (!known) {
    if (tag === undefined) return null;
    f.event = tag[0];
  }
  f.message = msg;
  if (tag !== undefined) f.level = tag[1];
  else if (pri !== null) f.level = SEVERITY_LEVEL[pri & 7];
  if (pid !== undefined) f.pid = pid;
  return { ok: true, kind: 'event', time, fields: f };
}
