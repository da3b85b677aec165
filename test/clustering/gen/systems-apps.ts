/**
 * Generated systems: applications and proxies (an Android-like phone, a
 * health app, a desktop proxy client's connection log, Apache and nginx
 * error logs). The wording is this project's own; the shapes are what such
 * programs print: `host:port open through proxy host:port HTTPS`, `close,
 * 1420 bytes (1.38 KB) sent, ... lifetime 00:02`, program names with an
 * optional `*64`, wake locks with flags, tags and uids, steps joined by `##`.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const APPS = ['chrome.exe', 'firefox.exe', 'Dropbox.exe', 'svchost.exe', 'Teams.exe', 'outlook.exe', 'git-remote-https.exe', 'slack.exe', 'Spotify.exe', 'WeChat.exe', 'update.exe', 'OneDrive.exe', 'Code.exe', 'zoom.exe', 'steam.exe'];
const BITS64 = new Set(['chrome.exe', 'Teams.exe', 'Code.exe', 'svchost.exe', 'steam.exe']);
const app = (r: Rnd) => {
  const a = r.zipf(APPS, 1.6);
  return BITS64.has(a) ? `${a} *64` : a;
};
const target = (r: Rnd) => `${r.chance(0.8) ? r.domain() : r.ip()}:${r.pick([443, 443, 443, 80, 5222, 8443, 993, r.port()])}`;
const proxy = (r: Rnd) => `${r.pick(['proxy.example.net', 'gw.corp.example.com', '10.8.0.1'])}:${r.pick([5070, 3128, 1080])}`;

export const proxyClient: SystemDef = {
  system: 'proxy',
  kind: 'desktop proxy client connection log',
  events: [
    // One statement each: the protocol and the byte counts are filled in (a size in parentheses is part of the count's text from 1 KB up).
    ev('P1', 500, (r) => `${app(r)} - ${target(r)} open through proxy ${proxy(r)} ${r.pick(['HTTPS', 'HTTPS', 'SOCKS5'])}`),
    ev('P2', 500, (r) => `${app(r)} - ${target(r)} close, ${r.bytesWithSize()} sent, ${r.bytesWithSize()} received, lifetime ${r.lifetime()}`),
    ev('P3', 80, (r) => `${app(r)} - ${target(r)} error : Could not connect through proxy ${proxy(r)} - The proxy server refused the connection to the target host, status code ${r.pick([403, 502, 503])}`),
    ev('P4', 60, (r) => `${app(r)} - ${target(r)} error : A connection request was canceled before the completion.`),
    ev('P5', 60, (r) => `${app(r)} - ${target(r)} open directly`),
    ev('P6', 40, (r) => `${app(r)} - ${target(r)} error : Could not connect to proxy ${proxy(r)} - connection attempt failed with error ${r.pick([10060, 10061, 10065])}`),
    ev('P7', 30, (r) => `${app(r)} - ${r.domain()} resolved through proxy ${proxy(r)}`),
    ev('P8', 20, (r) => `${app(r)} - ${target(r)} matched rule ${r.pick(['Default', 'Localhost', 'Corp-Direct', 'Block-Ads'])}`),
    ev('P9', 10, (r) => `Could not connect to proxy ${proxy(r)} - connection attempt failed with error ${r.pick([10060, 10061])}`),
    ev('P10', 6, (r) => `Network configuration changed, ${r.int(1, 9)} adapters active`),
    ev('P11', 3, (r) => `Profile ${r.pick(['Default.ppx', 'office.ppx'])} loaded from ${r.winPath()}`),
    ev('P12', 2, (r) => `Proxy client ${r.version()} started, ${r.int(1, 9)} rules`),
  ],
};

const pkgName = (r: Rnd) => r.zipf(['com.android.systemui', 'com.example.mail', 'com.tencent.mm', 'com.android.phone', 'com.google.android.gms', 'com.example.health', 'android']);
const wakeTag = (r: Rnd) => r.pick(['*alarm*', 'WakeLockSync', 'NlpWakeLock', 'RILJ', 'AudioMix', `*job*/${pkgName(r)}/.SyncService`, 'GCM_CONN']);

export const android: SystemDef = {
  system: 'android',
  kind: 'Android-like phone framework',
  events: [
    ev('A1', 250, (r) => `acquire lock=${r.int(1e8, 3e8)}, flags=0x${r.hex(r.int(1, 2))}, tag="${wakeTag(r)}", name=${pkgName(r)}, ws=${r.chance(0.5) ? 'null' : `WorkSource{${r.int(1000, 10200)}}`}, uid=${r.int(1000, 10200)}, pid=${r.int(100, 30000)}`),
    ev('A2', 250, (r) => `release:lock=${r.int(1e8, 3e8)}, flg=0x0, tag="${wakeTag(r)}", name=${pkgName(r)}, ws=${r.chance(0.5) ? 'null' : `WorkSource{${r.int(1000, 10200)}}`}, uid=${r.int(1000, 10200)}, pid=${r.int(100, 30000)}`),
    ev('A3', 150, (r) => `Skipping AppWindowToken{${r.hex(7)} token=Token{${r.hex(7)} ActivityRecord{${r.hex(7)} u0 ${pkgName(r)}/.${r.pick(['MainActivity', 'ui.LauncherActivity', 'SplashActivity'])} t${r.int(1, 999)}}}} -- going to hide`),
    ev('A4', 120, (r) => `setSystemUiVisibility vis=${r.hex(r.int(1, 8))} mask=${r.hex(r.int(1, 8))} oldVal=${r.hex(r.int(1, 8))} newVal=${r.hex(r.int(1, 8))} diff=${r.hex(r.int(1, 8))}`),
    ev('A5', 100, (r) => `getRingerModeInternal: ${r.int(0, 2)}`),
    ev('A6', 100, (r) => `mScreenOn = ${r.pick(['true', 'false'])}`),
    ev('A7', 80, (r) => `Checking for visibility changes in ${r.pick(['WindowState', 'Window'])}{${r.hex(7)} u0 ${pkgName(r)}/${pkgName(r)}.${r.pick(['Main', 'Home', 'Settings'])}Activity}`),
    ev('A8', 70, (r) => `printFreezingDisplayLogs opening app wtoken = AppWindowToken{${r.hex(7)} token=Token{${r.hex(7)} ActivityRecord{${r.hex(7)} u0 ${pkgName(r)}/.MainActivity t${r.int(1, 999)}}}}, allDrawn= ${r.pick(['true', 'false'])}, startingDisplayed =  ${r.pick(['true', 'false'])}, startingMoved =  false, isRelaunching =  false`),
    ev('A9', 60, (r) => `handleMessage: what=${r.int(100, 200)} arg1=${r.int(0, 3)}`),
    ev('A10', 60, (r) => `Battery level ${r.int(1, 100)}%, temperature ${r.int(200, 450)}, voltage ${r.int(3500, 4400)} mV, plugged ${r.int(0, 2)}`),
    ev('A11', 50, (r) => `onReceive: action=${r.pick(['android.intent.action.SCREEN_ON', 'android.intent.action.SCREEN_OFF', 'android.intent.action.TIME_TICK', 'android.net.conn.CONNECTIVITY_CHANGE'])}`),
    ev('A12', 40, (r) => `Animation done for AppWindowToken{${r.hex(7)} token=Token{${r.hex(7)}}} in ${r.int(1, 900)}ms`),
    ev('A13', 30, (r) => `Start proc ${r.int(1000, 30000)}:${pkgName(r)}/u0a${r.int(10, 300)} for ${r.pick(['service', 'broadcast', 'activity', 'content provider'])} ${pkgName(r)}/.${r.pick(['SyncService', 'BootReceiver', 'Main'])}`),
    ev('A14', 25, (r) => `Killing ${r.int(1000, 30000)}:${pkgName(r)}/u0a${r.int(10, 300)} (adj ${r.int(0, 906)}): ${r.pick(['empty #17', 'remove task', 'too many background'])}`),
    ev('A15', 20, (r) => `cleanUpApplicationRecord -- ${r.int(1000, 30000)}`),
    ev('A16', 10, (r) => `Unable to start service Intent { act=${pkgName(r)}.${r.pick(['SYNC', 'PUSH'])} pkg=${pkgName(r)} } U=0: not found`),
    ev('A17', 5, (r) => `ANR in ${pkgName(r)} (${pkgName(r)}/.MainActivity)`),
    ev('A18', 3, (r) => `Displayed ${pkgName(r)}/.MainActivity: +${r.int(100, 3000)}ms`),
  ],
};

const ts = (r: Rnd) => `${r.digits(13)}`;

export const healthApp: SystemDef = {
  system: 'health-app',
  kind: 'mobile health app',
  events: [
    ev('HA1', 300, (r) => `onStepCountChanged ${r.int(1000, 99999)}`),
    ev('HA2', 200, (r) => `setTodayDetailSteps=${ts(r)}##${r.int(0, 9999)}##${r.int(0, 999999)}##${r.int(0, 9999)}##${r.int(0, 99999)}##${r.wide(9)}`),
    ev('HA3', 150, (r) => `REPORT : ${r.int(0, 9999)} ${r.int(0, 9999)} ${r.int(0, 999999)} ${r.int(0, 999)}`),
    ev('HA4', 150, (r) => `calculateCaloriesWithCache totalCalories=${r.int(0, 200000)}`),
    ev('HA5', 120, (r) => `calculateAltitudeWithCache totalAltitude=${r.int(0, 500)}`),
    ev('HA6', 100, (r) => `processHandleBroadcastAction action:android.intent.action.${r.pick(['TIME_TICK', 'SCREEN_ON', 'SCREEN_OFF', 'USER_PRESENT'])}`),
    ev('HA7', 80, (r) => `flush sensor data`),
    ev('HA8', 80, (r) => `upload step data success, cost ${r.int(10, 9000)}ms, records ${r.int(0, 500)}`),
    ev('HA9', 60, (r) => `getTodayTotalDetailSteps = ${ts(r)}##${r.int(0, 9999)}##${r.int(0, 999999)}##${r.int(0, 9999)}##${r.int(0, 99999)}##${r.wide(9)}`),
    ev('HA10', 50, (r) => `insertHiHealthData() bulkSaveDetailHiHealthData fail errorCode = ${r.int(1, 9)},errorMessage = ${r.pick(['ERR_DATA_INSERT', 'ERR_DATA_FULL'])}`),
    ev('HA11', 40, (r) => `screen status unknown,think screen on`),
    ev('HA12', 40, (r) => `onExtend:${ts(r)} ${r.int(0, 9)} ${r.int(0, 99999)} ${r.int(0, 9)}`),
    ev('HA13', 30, (r) => `checkCurrentDay a new day comes , old day = ${r.date().replace(/-/g, '')}, new day = ${r.date().replace(/-/g, '')}`),
    ev('HA14', 20, (r) => `startTimer start autoSync`),
    ev('HA15', 15, (r) => `sendSyncFailedBroadcast`),
    ev('HA16', 10, (r) => `initDataPrivacy the user is ${r.pick(['agree', 'disagree'])} with the privacy, flag = ${r.pick(['true', 'false'])}`),
    ev('HA17', 5, (r) => `tryToReportNotifiHealthData lastReportTime=${ts(r)}, currentTime=${ts(r)}`),
  ],
};

const cip = (r: Rnd) => r.ip();
const webPath = (r: Rnd) => r.pick([r.path('/var/www/html'), r.path('/srv/www'), `/var/www/html/${r.pick(['wp-login.php', 'xmlrpc.php', '.env', 'phpmyadmin', 'admin'])}`]);
const apDate = (r: Rnd) => `[${r.pick(['Sun', 'Mon', 'Tue'])} ${r.pick(['Dec', 'Jan'])} ${pad(r.int(1, 28))} ${r.clock()} 2023]`;

export const apacheError: SystemDef = {
  system: 'apache-error',
  kind: 'Apache error log',
  events: [
    ev('AP1', 250, (r) => `${apDate(r)} [notice] jk2_init() Found child ${r.int(1000, 32000)} in scoreboard slot ${r.int(0, 12)}`),
    ev('AP2', 250, (r) => `${apDate(r)} [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties`),
    ev('AP3', 200, (r) => `${apDate(r)} [error] mod_jk child workerEnv in error state ${r.int(5, 9)}`),
    ev('AP4', 150, (r) => `${apDate(r)} [error] [client ${cip(r)}] File does not exist: ${webPath(r)}`),
    ev('AP5', 120, (r) => `${apDate(r)} [error] [client ${cip(r)}] Directory index forbidden by rule: ${webPath(r)}/`),
    ev('AP6', 60, (r) => `${apDate(r)} [error] [client ${cip(r)}] client denied by server configuration: ${webPath(r)}`),
    ev('AP7', 50, (r) => `${apDate(r)} [error] [client ${cip(r)}] script not found or unable to stat: ${r.path('/var/www/cgi-bin')}`),
    ev('AP8', 40, (r) => `${apDate(r)} [notice] Apache/2.${r.int(0, 4)}.${r.int(1, 58)} (Unix) configured -- resuming normal operations`),
    ev('AP9', 30, (r) => `${apDate(r)} [warn] child process ${r.int(1000, 32000)} still did not exit, sending a SIGTERM`),
    ev('AP10', 25, (r) => `${apDate(r)} [error] [client ${cip(r)}] request failed: error reading the headers`),
    ev('AP11', 20, (r) => `${apDate(r)} [notice] caught SIGTERM, shutting down`),
    ev('AP12', 15, (r) => `${apDate(r)} [error] [client ${cip(r)}] PHP Warning:  include(${r.path('/var/www')}.php): failed to open stream: No such file or directory in ${r.path('/var/www')}.php on line ${r.int(1, 900)}`),
    ev('AP13', 10, (r) => `${apDate(r)} [warn] RSA server certificate CommonName (CN) \`${r.domain()}' does NOT match server name!?`),
    ev('AP14', 5, (r) => `${apDate(r)} [notice] Digest: generating secret for digest authentication ...`),
  ],
};

const ngDate = (r: Rnd) => `2023/${pad(r.int(1, 12))}/${pad(r.int(1, 28))} ${r.clock()}`;
const ngPid = (r: Rnd) => {
  const p = r.int(1000, 9999);
  return `${p}#${p}: *${r.int(1, 9999999)}`;
};
const req = (r: Rnd) => `${r.pick(['GET', 'POST', 'HEAD'])} ${r.pick(['/', '/api/v1/items', '/login', `/img/${r.hex(8)}.png`, '/wp-admin/', `/search?q=${r.word()}`])} HTTP/${r.pick(['1.1', '1.0', '2.0'])}`;
const server = (r: Rnd) => r.pick(['shop.example.com', 'api.example.com', '_', 'www.example.org']);

export const nginxError: SystemDef = {
  system: 'nginx-error',
  kind: 'nginx error log',
  events: [
    ev('N1', 300, (r) => `${ngDate(r)} [error] ${ngPid(r)} open() "${r.path('/usr/share/nginx/html')}" failed (2: No such file or directory), client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}", host: "${r.domain()}"`),
    ev('N2', 200, (r) => `${ngDate(r)} [error] ${ngPid(r)} upstream timed out (110: Connection timed out) while reading response header from upstream, client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}", upstream: "http://${r.lan()}:${r.pick([8080, 3000])}${r.pick(['/', '/api/v1/items'])}", host: "${r.domain()}"`),
    ev('N3', 150, (r) => `${ngDate(r)} [error] ${ngPid(r)} connect() failed (111: Connection refused) while connecting to upstream, client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}", upstream: "http://${r.lan()}:${r.pick([8080, 3000])}/", host: "${r.domain()}"`),
    ev('N4', 120, (r) => `${ngDate(r)} [warn] ${ngPid(r)} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/${r.int(0, 9)}/${pad(r.int(0, 99))}/${r.digits(10)} while reading upstream, client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}"`),
    ev('N5', 100, (r) => `${ngDate(r)} [error] ${ngPid(r)} access forbidden by rule, client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}", host: "${r.domain()}"`),
    ev('N6', 80, (r) => `${ngDate(r)} [info] ${ngPid(r)} client ${r.ip()} closed keepalive connection`),
    ev('N7', 70, (r) => `${ngDate(r)} [error] ${ngPid(r)} limiting requests, excess: ${r.fixed(0, 50, 3)} by zone "${r.pick(['perip', 'api'])}", client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}"`),
    ev('N8', 60, (r) => `${ngDate(r)} [crit] ${ngPid(r)} SSL_do_handshake() failed (SSL: error:${r.HEX(8)}:SSL routines::${r.pick(['unsupported protocol', 'no shared cipher', 'wrong version number'])}) while SSL handshaking, client: ${r.ip()}, server: 0.0.0.0:443`),
    ev('N9', 40, (r) => `${ngDate(r)} [info] ${ngPid(r)} client sent invalid request while reading client request line, client: ${r.ip()}, server: ${server(r)}, request: "${r.pick(['\\x16\\x03\\x01', 'GET /\\x00', 'MGLNDD_' + r.ip()])}"`),
    ev('N10', 30, (r) => `${ngDate(r)} [error] ${ngPid(r)} client intended to send too large body: ${r.wide(9)} bytes, client: ${r.ip()}, server: ${server(r)}, request: "${req(r)}", host: "${r.domain()}"`),
    ev('N11', 20, (r) => `${ngDate(r)} [notice] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: signal process started`),
    ev('N12', 15, (r) => `${ngDate(r)} [emerg] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: bind() to 0.0.0.0:${r.pick([80, 443])} failed (98: Address already in use)`),
    ev('N13', 10, (r) => `${ngDate(r)} [alert] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: ${r.int(512, 4096)} worker_connections are not enough`),
    ev('N14', 5, (r) => `${ngDate(r)} [warn] ${r.int(1000, 9999)}#${r.int(1000, 9999)}: conflicting server name "${r.domain()}" on 0.0.0.0:80, ignored`),
  ],
};
