/**
 * Generated systems: applications and proxies (a phone's framework log, a
 * fitness app, a desktop proxy client's connection log, Apache and nginx
 * error logs, an HAProxy log).
 *
 * Templates and values are invented for these tests from the general shape
 * of what such programs print; only the proxy client's two main shapes are
 * the ones issue 15 quotes (`host:port open through proxy host:port HTTPS`,
 * `close, 1420 bytes (1.38 KB) sent, 2103 bytes received, lifetime 00:02`).
 * Nothing is taken from a public labelled corpus.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const APPS = ['browser.exe', 'mailer.exe', 'syncagent.exe', 'svchost.exe', 'chat.exe', 'editor.exe', 'git.exe', 'musicbox.exe', 'updater.exe', 'meet.exe', 'games.exe', 'notes.exe'];
/** Some programs are printed with an architecture suffix as a second token. */
const WIDE = new Set(['browser.exe', 'chat.exe', 'svchost.exe', 'games.exe']);
const app = (r: Rnd) => {
  const a = r.zipf(APPS, 1.6);
  return WIDE.has(a) ? `${a} *64` : a;
};
const target = (r: Rnd) => `${r.chance(0.8) ? r.domain() : r.ip()}:${r.pick([443, 443, 443, 80, 5222, 8443, 993, r.port()])}`;
const proxy = (r: Rnd) => `${r.pick(['proxy.example.net', 'relay.corp.example.com', '10.8.0.1', 'sock.example.org'])}:${r.pick([5070, 3128, 1080, 8080])}`;

export const proxyClient: SystemDef = {
  system: 'proxy',
  kind: 'desktop proxy client connection log',
  events: [
    ev('P1', 500, (r) => `${app(r)} - ${target(r)} open through proxy ${proxy(r)} ${r.pick(['HTTPS', 'HTTPS', 'SOCKS5'])}`),
    ev('P2', 500, (r) => `${app(r)} - ${target(r)} close, ${r.bytesWithSize()} sent, ${r.bytesWithSize()} received, lifetime ${r.lifetime()}`),
    ev('P3', 80, (r) => `${app(r)} - ${target(r)} error : proxy ${proxy(r)} answered status ${r.pick([403, 407, 502, 503])} to the tunnel request`),
    ev('P4', 60, (r) => `${app(r)} - ${target(r)} error : the connection was reset before the reply`),
    ev('P5', 60, (r) => `${app(r)} - ${target(r)} open directly`),
    ev('P6', 40, (r) => `${app(r)} - ${target(r)} error : cannot reach proxy ${proxy(r)}, socket error ${r.pick([10060, 10061, 10065])}`),
    ev('P7', 30, (r) => `${app(r)} - ${r.domain()} name resolved through proxy ${proxy(r)}`),
    ev('P8', 20, (r) => `${app(r)} - ${target(r)} matched rule ${r.pick(['Default', 'Localhost', 'Office-Direct', 'No-Ads'])}`),
    ev('P9', 10, (r) => `proxy ${proxy(r)} is unreachable, socket error ${r.pick([10060, 10061])}`),
    ev('P10', 6, (r) => `network settings changed, ${r.int(1, 9)} interfaces up`),
    ev('P11', 3, (r) => `profile ${r.pick(['home.prx', 'office.prx'])} loaded from ${r.winPath()}`),
    ev('P12', 2, (r) => `proxy client ${r.version()} running with ${r.int(1, 9)} rules`),
  ],
};

const pkg = (r: Rnd) => r.zipf(['com.example.launcher', 'com.example.mail', 'org.sample.chat', 'com.vendor.phone', 'com.vendor.services', 'com.example.fit', 'system']);
const comp = (r: Rnd) => `${pkg(r)}/.${r.pick(['HomeActivity', 'ui.ComposeActivity', 'SplashScreen', 'SyncService'])}`;

export const phone: SystemDef = {
  system: 'phone',
  kind: 'Android-like phone framework',
  events: [
    ev('A1', 250, (r) => `WakeGuard: hold id=${r.int(1e8, 3e8)} kind=${r.pick(['PARTIAL', 'FULL', 'PROXIMITY'])} owner=${pkg(r)} uid=${r.int(1000, 10200)} pid=${r.int(100, 30000)}`),
    ev('A2', 250, (r) => `WakeGuard: drop id=${r.int(1e8, 3e8)} held ${r.int(1, 90000)}ms owner=${pkg(r)}`),
    ev('A3', 150, (r) => `Surface ${r.hex(7)} for ${comp(r)} ${r.pick(['shown', 'hidden'])} layer=${r.int(1, 40000)}`),
    ev('A4', 120, (r) => `InputDispatch: focus moved to Window{${r.hex(7)} u0 ${comp(r)}}`),
    ev('A5', 100, (r) => `AudioRoute: volume stream=${r.int(0, 10)} index=${r.int(0, 15)} device=0x${r.hex(r.int(1, 4))}`),
    ev('A6', 100, (r) => `Display: brightness ${r.int(0, 255)} -> ${r.int(0, 255)} (auto=${r.pick(['true', 'false'])})`),
    ev('A7', 80, (r) => `ProcStart: ${r.int(1000, 30000)}:${pkg(r)}/u0a${r.int(10, 300)} for ${r.pick(['service', 'broadcast', 'activity', 'content provider'])} ${comp(r)}`),
    ev('A8', 70, (r) => `ProcKill: ${r.int(1000, 30000)}:${pkg(r)}/u0a${r.int(10, 300)} (adj ${r.int(0, 999)}): ${r.pick(['cached over limit', 'low memory', 'user request'])}`),
    ev('A9', 60, (r) => `Battery: level=${r.int(1, 100)} temp=${r.int(200, 450)} volt=${r.int(3500, 4400)} plugged=${r.int(0, 2)}`),
    ev('A10', 60, (r) => `Broadcast ${r.pick(['device.action.SCREEN_ON', 'device.action.SCREEN_OFF', 'device.action.CLOCK_TICK', 'net.action.LINK_CHANGED'])} delivered to ${r.int(1, 60)} receivers in ${r.int(1, 900)}ms`),
    ev('A11', 50, (r) => `Net: default network ${r.pick(['wifi', 'cellular'])} ${r.pick(['validated', 'lost'])} score=${r.int(0, 100)}`),
    ev('A12', 40, (r) => `Jobs: ran ${pkg(r)}/${r.pick(['SyncJob', 'CleanupJob', 'UploadJob'])} #${r.int(1, 9999)} for ${r.int(1, 600000)}ms`),
    ev('A13', 20, (r) => `Watchdog: ${r.pick(['main', 'ui', 'io'])} thread blocked ${r.int(5000, 60000)}ms in ${comp(r)}`),
    ev('A14', 10, (r) => `App not responding: ${comp(r)} (reason: ${r.pick(['input dispatch timeout', 'broadcast timeout'])})`),
    ev('A15', 5, (r) => `Launch of ${comp(r)} took +${r.int(100, 3000)}ms`),
  ],
};

const day = (r: Rnd) => `${r.int(2022, 2024)}${pad(r.int(1, 12))}${pad(r.int(1, 28))}`;
const ms13 = (r: Rnd) => r.digits(13);

export const fitnessApp: SystemDef = {
  system: 'fitness-app',
  kind: 'mobile fitness app',
  events: [
    ev('F1', 300, (r) => `StepSensor onChanged steps=${r.int(0, 99999)} delta=${r.int(0, 200)}`),
    ev('F2', 220, (r) => `DailyStore save day=${day(r)} steps=${r.int(0, 40000)} kcal=${r.int(0, 4000)} meters=${r.int(0, 40000)}`),
    ev('F3', 200, (r) => `HeartRate sample ${r.int(40, 190)} bpm at ${ms13(r)} confidence ${r.fixed(0, 1, 2)}`),
    ev('F4', 150, (r) => `SyncClient upload ${r.int(0, 500)} records in ${r.int(10, 9000)}ms result=${r.pick(['ok', 'ok', 'retry'])}`),
    ev('F5', 120, (r) => `SyncClient upload failed: http ${r.pick([401, 429, 500, 503])} after ${r.int(10, 30000)}ms`),
    ev('F6', 100, (r) => `SleepTracker phase ${r.pick(['light', 'deep', 'rem', 'awake'])} from ${ms13(r)} to ${ms13(r)}`),
    ev('F7', 80, (r) => `Goal reached: ${r.int(1000, 30000)} of ${r.int(1000, 30000)} steps`),
    ev('F8', 60, (r) => `Screen ${r.pick(['on', 'off'])} received, pausing=${r.pick(['true', 'false'])}`),
    ev('F9', 50, (r) => `Day rollover ${day(r)} -> ${day(r)}, resetting counters`),
    ev('F10', 40, (r) => `Bluetooth band ${r.mac()} rssi -${r.int(30, 100)} battery ${r.int(0, 100)}%`),
    ev('F11', 20, (r) => `Database migration ${r.int(1, 40)} -> ${r.int(41, 60)} took ${r.int(1, 9000)}ms`),
    ev('F12', 10, (r) => `Privacy consent ${r.pick(['granted', 'revoked'])} by ${r.user()}`),
    ev('F13', 5, (r) => `Crash report ${r.uuid()} queued (${r.bytesWithSize()})`),
  ],
};

const cip = (r: Rnd) => r.ip();
const docPath = (r: Rnd) => r.pick([r.path('/var/www/html'), r.path('/srv/sites'), `/var/www/html/${r.pick(['setup.php', 'config.bak', '.git', 'adminer.php', 'cgi-bin/test'])}`]);
const apDate = (r: Rnd) => `[${r.pick(['Sun', 'Mon', 'Tue', 'Wed'])} ${r.pick(['Mar', 'Apr'])} ${pad(r.int(1, 28))} ${r.clock()}.${r.digits(6)} 2024]`;
const apPid = (r: Rnd) => `[pid ${r.int(1000, 60000)}:tid ${r.digits(15)}]`;

export const apacheError: SystemDef = {
  system: 'apache-error',
  kind: 'Apache error log',
  events: [
    ev('AP1', 250, (r) => `${apDate(r)} [core:error] ${apPid(r)} [client ${cip(r)}:${r.int(1024, 65535)}] AH00128: File does not exist: ${docPath(r)}`),
    ev('AP2', 200, (r) => `${apDate(r)} [authz_core:error] ${apPid(r)} [client ${cip(r)}:${r.int(1024, 65535)}] AH01630: client denied by server configuration: ${docPath(r)}`),
    ev('AP3', 180, (r) => `${apDate(r)} [php:warn] ${apPid(r)} [client ${cip(r)}:${r.int(1024, 65535)}] PHP Warning:  Undefined ${r.pick(['variable', 'array key'])} $${r.pick(['id', 'user', 'page', 'lang'])} in ${r.path('/var/www/html')}.php on line ${r.int(1, 900)}`),
    ev('AP4', 150, (r) => `${apDate(r)} [proxy:error] ${apPid(r)} (111)Connection refused: AH00957: http: attempt to connect to ${r.lan()}:${r.pick([8080, 9000])} (${r.lan()}:${r.pick([8080, 9000])}) failed`),
    ev('AP5', 120, (r) => `${apDate(r)} [ssl:warn] ${apPid(r)} AH01909: ${r.domain()}:443:0 server certificate does NOT include an ID which matches the server name`),
    ev('AP6', 100, (r) => `${apDate(r)} [mpm_event:notice] ${apPid(r)} AH00489: Apache/2.4.${r.int(40, 62)} (Unix) configured -- resuming normal operations`),
    ev('AP7', 80, (r) => `${apDate(r)} [core:notice] ${apPid(r)} AH00094: Command line: '/usr/sbin/httpd -D FOREGROUND'`),
    ev('AP8', 60, (r) => `${apDate(r)} [mpm_event:error] ${apPid(r)} AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting`),
    ev('AP9', 50, (r) => `${apDate(r)} [core:error] ${apPid(r)} [client ${cip(r)}:${r.int(1024, 65535)}] AH10244: invalid URI path (${r.path('/cgi-bin')}/.%2e/%2e%2e)`),
    ev('AP10', 40, (r) => `${apDate(r)} [reqtimeout:info] ${apPid(r)} [client ${cip(r)}:${r.int(1024, 65535)}] AH01382: Request ${r.pick(['header', 'body'])} read timeout`),
    ev('AP11', 20, (r) => `${apDate(r)} [mpm_event:notice] ${apPid(r)} AH00492: caught SIGWINCH, shutting down gracefully`),
    ev('AP12', 10, (r) => `${apDate(r)} [cgid:error] ${apPid(r)} [client ${cip(r)}:${r.int(1024, 65535)}] End of script output before headers: ${r.pick(['index.cgi', 'report.pl', 'status.sh'])}`),
  ],
};

const ngDate = (r: Rnd) => `2024/${pad(r.int(1, 12))}/${pad(r.int(1, 28))} ${r.clock()}`;
const ngPid = (r: Rnd) => {
  const p = r.int(1000, 9999);
  return `${p}#${p}: *${r.int(1, 9999999)}`;
};
const req = (r: Rnd) => `${r.pick(['GET', 'POST', 'HEAD', 'PUT'])} ${r.pick(['/', '/api/v2/orders', '/signin', `/media/${r.hex(8)}.webp`, '/wp-login.php', `/find?q=${r.word()}`])} HTTP/${r.pick(['1.1', '1.0', '2.0'])}`;
const vhost = (r: Rnd) => r.pick(['store.example.com', 'api.example.com', '_', 'www.example.org', 'static.example.net']);

export const nginxError: SystemDef = {
  system: 'nginx-error',
  kind: 'nginx error log',
  events: [
    ev('N1', 300, (r) => `${ngDate(r)} [error] ${ngPid(r)} open() "${r.path('/usr/share/nginx/html')}" failed (2: No such file or directory), client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}", host: "${r.domain()}"`),
    ev('N2', 200, (r) => `${ngDate(r)} [error] ${ngPid(r)} upstream timed out (110: Connection timed out) while reading response header from upstream, client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}", upstream: "http://${r.lan()}:${r.pick([8080, 3000])}${r.pick(['/', '/api/v2/orders'])}", host: "${r.domain()}"`),
    ev('N3', 150, (r) => `${ngDate(r)} [error] ${ngPid(r)} connect() failed (111: Connection refused) while connecting to upstream, client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}", upstream: "http://${r.lan()}:${r.pick([8080, 3000])}/", host: "${r.domain()}"`),
    ev('N4', 120, (r) => `${ngDate(r)} [warn] ${ngPid(r)} a client request body is buffered to a temporary file /var/lib/nginx/body/${pad(r.int(0, 9999999999), 10)}, client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}"`),
    ev('N5', 100, (r) => `${ngDate(r)} [error] ${ngPid(r)} access forbidden by rule, client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}", host: "${r.domain()}"`),
    ev('N6', 80, (r) => `${ngDate(r)} [info] ${ngPid(r)} client ${r.ip()} closed keepalive connection`),
    ev('N7', 70, (r) => `${ngDate(r)} [error] ${ngPid(r)} limiting requests, excess: ${r.fixed(0, 50, 3)} by zone "${r.pick(['perip', 'api', 'login'])}", client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}"`),
    ev('N8', 60, (r) => `${ngDate(r)} [crit] ${ngPid(r)} SSL_do_handshake() failed (SSL: error:${r.HEX(8)}:SSL routines::${r.pick(['unsupported protocol', 'no shared cipher', 'wrong version number'])}) while SSL handshaking, client: ${r.ip()}, server: 0.0.0.0:443`),
    ev('N9', 30, (r) => `${ngDate(r)} [error] ${ngPid(r)} client intended to send too large body: ${r.wide(9)} bytes, client: ${r.ip()}, server: ${vhost(r)}, request: "${req(r)}", host: "${r.domain()}"`),
    ev('N10', 20, (r) => `${ngDate(r)} [notice] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: signal process started`),
    ev('N11', 15, (r) => `${ngDate(r)} [emerg] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: bind() to 0.0.0.0:${r.pick([80, 443])} failed (98: Address already in use)`),
    ev('N12', 5, (r) => `${ngDate(r)} [warn] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: conflicting server name "${r.domain()}" on 0.0.0.0:80, ignored`),
  ],
};

const fe = (r: Rnd) => r.pick(['fe_https~', 'fe_http', 'fe_api~']);
const be = (r: Rnd) => `${r.pick(['be_app', 'be_static', 'be_api', 'be_auth'])}/${r.pick(['app1', 'app2', 'app3', 'web-a', 'web-b', '<NOSRV>'])}`;
const hpDate = (r: Rnd) => `[${pad(r.int(1, 28))}/${r.pick(['Mar', 'Apr'])}/2024:${r.clock()}.${r.int(100, 999)}]`;

export const haproxy: SystemDef = {
  system: 'haproxy',
  kind: 'HAProxy log',
  events: [
    ev('HP1', 400, (r) => `${r.ip()}:${r.int(1024, 65535)} ${hpDate(r)} ${fe(r)} ${be(r)} ${r.int(0, 90)}/${r.int(0, 9)}/${r.int(0, 90)}/${r.int(0, 9000)}/${r.int(0, 9000)} ${r.pick([200, 200, 301, 304, 404, 500, 502, 503])} ${r.wide(7)} - - ---- ${r.int(1, 900)}/${r.int(1, 900)}/${r.int(0, 90)}/${r.int(0, 20)}/0 0/0 "${req(r)}"`),
    ev('HP2', 150, (r) => `${r.ip()}:${r.int(1024, 65535)} ${hpDate(r)} ${fe(r)}: SSL handshake failure`),
    ev('HP3', 80, (r) => `Server ${be(r)} is DOWN, reason: ${r.pick(['Layer4 connection problem', 'Layer7 wrong status', 'Layer4 timeout'])}, check duration: ${r.int(0, 3000)}ms. ${r.int(0, 5)} active and 0 backup servers left. ${r.int(0, 40)} sessions active, 0 requeued, 0 remaining in queue.`),
    ev('HP4', 80, (r) => `Server ${be(r)} is UP, reason: Layer7 check passed, code: 200, check duration: ${r.int(0, 3000)}ms. ${r.int(1, 5)} active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`),
    ev('HP5', 40, (r) => `Proxy ${r.pick(['fe_https', 'be_app', 'be_api'])} started.`),
    ev('HP6', 30, (r) => `backend ${r.pick(['be_app', 'be_api'])} has no server available!`),
    ev('HP7', 20, (r) => `Connect from ${r.ip()}:${r.int(1024, 65535)} to ${r.lan()}:${r.pick([80, 443])} (${r.pick(['fe_http', 'stats'])}/HTTP)`),
    ev('HP8', 10, (r) => `Stopping frontend ${r.pick(['fe_https', 'fe_http', 'GLOBAL'])} in ${r.int(0, 30)} ms.`),
  ],
};
