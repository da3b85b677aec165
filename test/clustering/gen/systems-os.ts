/**
 * Generated systems: operating-system daemons (syslog-style authentication
 * and session lines with user, terminal and host names and session ids; an
 * sshd; macOS daemons; Windows servicing with hex codes, package identities
 * and paths). The wording is this project's own.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const tty = (r: Rnd) => r.pick(['NODEVssh', 'ssh', 'pts/0', 'pts/3', 'tty1', 'tty2', 'console', ':0']);
/** A remote host as PAM and login daemons print it: a name, an address, or a long provider name. */
const rhost = (r: Rnd) =>
  r.pick([r.ip(), r.domain(), `${r.int(1, 254)}-${r.int(1, 254)}-${r.int(1, 254)}-${r.int(1, 254)}.dsl.${r.pick(['telekom', 'isp-north', 'cablenet'])}.net`, `host${r.int(1, 99)}.${r.pick(['campus', 'lab'])}.example.edu`]);
const weekday = (r: Rnd) => r.pick(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
const month = (r: Rnd) => r.pick(['Jan', 'Feb', 'Mar', 'Jun', 'Jul', 'Sep', 'Nov', 'Dec']);

export const syslogAuth: SystemDef = {
  system: 'syslog-auth',
  kind: 'Linux syslog daemons: PAM, su, cron, logind, ftpd',
  events: [
    // One statement (pam_unix): ` user=<name>` is appended when the user is known.
    ev('L1', 550, (r) => `authentication failure; logname= uid=0 euid=0 tty=${tty(r)} ruser= rhost=${rhost(r)}${r.chance(0.55) ? `  user=${r.user()}` : ''}`),
    ev('L3', 200, () => `check pass; user unknown`),
    ev('L4', 200, (r) => `session opened for user ${r.user()} by (uid=${r.pick([0, 0, 0, r.int(500, 1500)])})`),
    ev('L5', 180, (r) => `session closed for user ${r.user()}`),
    ev('L6', 120, (r) => `connection from ${r.ip()} (${r.chance(0.3) ? '' : rhost(r)}) at ${weekday(r)} ${month(r)} ${r.int(1, 28)} ${r.clock()} 2023`),
    ev('L7', 60, (r) => `New session ${r.chance(0.6) ? r.int(1, 9999) : 'c' + r.int(1, 999)} of user ${r.user()}.`),
    ev('L8', 60, (r) => `Removed session ${r.chance(0.6) ? r.int(1, 9999) : 'c' + r.int(1, 999)}.`),
    ev('L9', 50, (r) => `(to ${r.user()}) ${r.user()} on ${tty(r)}`),
    ev('L10', 40, (r) => `ALERT exited abnormally with [${r.int(1, 3)}]`),
    ev('L11', 40, (r) => `${r.pick(['syslogd', 'klogd', 'irqbalance', 'crond', 'sshd', 'xinetd', 'portmap', 'cups', 'atd', 'nfslock'])} startup succeeded`),
    ev('L12', 30, (r) => `Authentication failed from ${r.ip()} (${rhost(r)}): Permanent login failure`),
    ev('L13', 30, (r) => `ANONYMOUS FTP LOGIN FROM ${r.ip()}, ${r.pick(['(anonymous)', r.user(), 'guest@' + r.domain()])}`),
    ev('L14', 25, (r) => `Out of memory: Killed process ${r.int(100, 32000)} (${r.pick(['httpd', 'java', 'mysqld', 'perl'])}).`),
    ev('L15', 15, (r) => `crond: user ${r.user()}: authentication failure`),
    ev('L15b', 10, (r) => `crond: user ${r.user()}: account has expired`),
    ev('L16', 20, (r) => `Starting Session ${r.int(1, 9999)} of user ${r.user()}.`),
    ev('L17', 20, (r) => `Received SIGHUP; restarting.`),
    ev('L18', 15, (r) => `warning: can't get client address: Connection reset by peer`),
    ev('L19', 10, (r) => `Linux version 2.6.${r.int(5, 32)}-${r.int(1, 400)} (bhcompile@${r.domain()}) (gcc version ${r.version()}) #1 ${weekday(r)} ${month(r)} ${r.int(1, 28)} ${r.clock()} EDT 2023`),
    ev('L20', 8, (r) => `Kernel command line: ro root=LABEL=/ ${r.pick(['rhgb quiet', 'quiet', 'single'])}`),
    ev('L21', 5, (r) => `FAILED LOGIN ${r.int(1, 5)} FROM (${rhost(r)}) FOR ${r.user()}, Authentication failure`),
    ev('L22', 3, (r) => `lost connection to ${r.ip()} after ${r.int(1, 900)} seconds`),
  ],
};

export const sshd: SystemDef = {
  system: 'sshd',
  kind: 'OpenSSH server',
  events: [
    ev('O1', 300, (r) => `Failed password for ${r.user()} from ${r.ip()} port ${r.port()} ssh2`),
    ev('O2', 250, (r) => `Failed password for invalid user ${r.user()} from ${r.ip()} port ${r.port()} ssh2`),
    ev('O3', 200, (r) => `Invalid user ${r.user()} from ${r.ip()} port ${r.port()}`),
    // One statement: the reason is what the client sent.
    ev('O4', 180, (r) => `Received disconnect from ${r.ip()} port ${r.port()}:11: ${r.pick(['Bye Bye', 'disconnected by user', 'Normal Shutdown, Thank you for playing'])} [preauth]`),
    ev('O5', 150, (r) => `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${r.ip()}  user=${r.user()}`),
    ev('O6', 120, (r) => `Connection closed by ${r.ip()} port ${r.port()} [preauth]`),
    ev('O7', 100, (r) => `Accepted password for ${r.user()} from ${r.ip()} port ${r.port()} ssh2`),
    ev('O8', 80, (r) => `Accepted publickey for ${r.user()} from ${r.ip()} port ${r.port()} ssh2: RSA SHA256:${r.hex(20)}${r.HEX(10)}`),
    ev('O9', 80, (r) => `reverse mapping checking getaddrinfo for ${rhost(r)} [${r.ip()}] failed - POSSIBLE BREAK-IN ATTEMPT!`),
    ev('O10', 60, (r) => `PAM ${r.int(2, 5)} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${r.ip()}  user=${r.user()}`),
    ev('O11', 50, (r) => `message repeated ${r.int(2, 5)} times: [ Failed password for ${r.user()} from ${r.ip()} port ${r.port()} ssh2]`),
    ev('O12', 40, (r) => `error: maximum authentication attempts exceeded for ${r.user()} from ${r.ip()} port ${r.port()} ssh2 [preauth]`),
    ev('O13', 30, (r) => `Disconnecting: Too many authentication failures [preauth]`),
    ev('O14', 30, (r) => `Did not receive identification string from ${r.ip()}`),
    ev('O15', 20, (r) => `input_userauth_request: invalid user ${r.user()} [preauth]`),
    ev('O16', 15, (r) => `fatal: Read from socket failed: Connection reset by peer [preauth]`),
    ev('O17', 10, (r) => `Server listening on ${r.pick(['0.0.0.0', '::'])} port ${r.pick([22, 2222])}.`),
    ev('O18', 5, (r) => `Bad protocol version identification '${r.pick(['GET / HTTP/1.1', '\\x16\\x03\\x01', 'SSH-1.5-Client', 'MGLNDD_' + r.ip()])}' from ${r.ip()} port ${r.port()}`),
  ],
};

const proc = (r: Rnd) => r.zipf(['kernel', 'WindowServer', 'mDNSResponder', 'com.apple.xpc.launchd', 'Safari', 'locationd', 'sharingd', 'UserEventAgent', 'corecaptured', 'QQ', 'Dock']);

export const macos: SystemDef = {
  system: 'macos',
  kind: 'macOS daemons',
  events: [
    ev('X1', 200, (r) => `ARPT: ${r.int(600000, 700000)}.${r.int(100000, 999999)}: wl0: wl_update_tcpkeep_seq: Original Seq: ${r.wide(10)}, Ack: ${r.wide(10)}, Win size: ${r.int(1000, 9000)}`),
    ev('X2', 150, (r) => `ARPT: ${r.int(600000, 700000)}.${r.int(100000, 999999)}: AirPort_Brcm43xx::syncPowerState: WWEN[${r.pick(['enabled', 'disabled'])}]`),
    ev('X3', 150, (r) => `Sandbox: ${proc(r)}(${r.int(100, 99999)}) deny(1) file-read-data ${r.chance(0.5) ? r.path('/Users/' + r.user()) : 'com.apple.' + r.word()}`),
    ev('X4', 120, (r) => `PM response took ${r.int(100, 9000)} ms (${r.int(20, 200)}, ${proc(r)})`),
    ev('X5', 100, (r) => `CCFile::captureLog Received Capture notice id: ${r.fixed(1e9, 2e9, 6)}, reason = ${r.pick(['AuthFail:sts:5_rsn:0', 'DeauthInd:sts:0_rsn:7', 'AssocFail:sts:2_rsn:0'])}`),
    ev('X6', 90, () => `Bluetooth -- LE is supported - Disable LE meta event`),
    ev('X7', 80, (r) => `[HID] [MT] AppleMultitouchDevice::willTerminate entered`),
    ev('X8', 50, (r) => `en0: BSSID changed to ${r.mac()}`),
    ev('X8b', 30, (r) => `en0: Received EAPOL packet from ${r.mac()}`),
    ev('X9', 70, (r) => `Wake reason: ${r.pick(['RTC (Alarm)', 'EC.LidOpen (User)', 'ARPT (Network)', 'XHC1'])}`),
    ev('X10', 60, (r) => `${r.pick(['0x' + r.hex(9), r.int(1, 999)])} ERROR: ${r.pick(['bad descriptor', 'no route to host'])} for socket ${r.int(3, 99)}`),
    ev('X11', 50, (r) => `Service exited with abnormal code: ${r.int(1, 255)}`),
    ev('X12', 40, (r) => `Failed to bootstrap path: path = ${r.path('/usr/libexec')}, error = ${r.int(100, 200)}: ${r.pick(['Service is disabled', 'Operation not permitted'])}`),
    ev('X13', 30, (r) => `tcp_connection_destination_perform_socket_connect ${r.int(1, 999)} connectx to ${r.ip()}.${r.port()}@0 failed: [${r.int(50, 65)}] ${r.pick(['Network is down', 'Host is down', 'Operation timed out'])}`),
    ev('X14', 30, (r) => `Setting device property on ${r.pick(['disk0', 'disk1s1', 'disk2'])}: ${r.word()}=${r.int(0, 1)}`),
    ev('X15', 20, (r) => `Thermal pressure state: ${r.int(0, 4)} Memory pressure state: ${r.int(0, 4)}`),
    ev('X16', 15, (r) => `objc[${r.int(100, 99999)}]: Class ${r.pick(['AMSupportURL', 'QQTimer', 'XPCBridge'])}${r.pick(['Connection', 'Delegate', 'Session'])} is implemented in both ${r.path('/System/Library/Frameworks')} and ${r.path('/Applications')}. One of the two will be used. Which one is undefined.`),
    ev('X17', 10, (r) => `Unknown key for integer: _DirtyJetsamMemoryLimit`),
    ev('X18', 5, (r) => `The Sleep Timer expired after ${r.int(1, 900)} seconds idle`),
  ],
};

const pkg = (r: Rnd) =>
  `Package_${r.chance(0.7) ? `for_KB${r.digits(7)}` : `${r.int(1, 3000)}_for_KB${r.digits(7)}`}~31bf3856ad364e35~${r.pick(['amd64', 'x86', 'wow64'])}~${r.pick(['', 'en-US'])}~${r.int(6, 10)}.${r.int(0, 3)}.${r.int(1, 9600)}.${r.int(0, 22000)}`;
const hr = (r: Rnd) => `0x${r.pick(['800f080c', '80070002', '800f081f', '00000000', '80070005', r.hex(8)])}`;
const csi = (r: Rnd) => pad(0, 8 - 3) + r.hex(3);
const session = (r: Rnd) => `${r.digits(8)}_${r.digits(10)}`;
const client = (r: Rnd) => r.pick(['WindowsUpdateAgent', 'TrustedInstaller FinalQueue', 'DISM Package Manager Provider', 'UpdateAgentLCU', 'Windows Defender']);

export const cbsServicing: SystemDef = {
  system: 'cbs-servicing',
  kind: 'Windows CBS / servicing log',
  events: [
    ev('W1', 300, (r) => `Info                  CBS    Read out cached package applicability for package: ${pkg(r)}, ApplicableState: ${r.pick([80, 112, 0])}, CurrentState:${r.pick([112, 0, 80])}`),
    ev('W2', 200, (r) => `Info                  CBS    Session: ${session(r)} initialized by client ${client(r)}.`),
    ev('W3', 150, (r) => `Info                  CBS    Failed to get internal update pointer for package: ${pkg(r)} [HRESULT = ${hr(r)} - ${r.pick(['CBS_E_INVALID_PACKAGE', 'CBS_E_NOT_APPLICABLE', 'ERROR_FILE_NOT_FOUND'])}]`),
    ev('W4', 120, (r) => `Info                  CSI    ${csi(r)} [SR] Verifying ${r.int(1, 100)} components`),
    ev('W5', 110, (r) => `Info                  CSI    ${csi(r)} [SR] Beginning Verify and Repair transaction`),
    ev('W6', 100, (r) => `Info                  CSI    ${csi(r)} [SR] Verify complete`),
    ev('W7', 90, (r) => `Info                  CBS    Exec: Processing complete.  Session: ${session(r)}, Client: ${client(r)}, hr: ${hr(r)}`),
    ev('W8', 80, () => `Info                  CBS    Warning: Unrecognized packageExtended attribute.`),
    ev('W9', 60, () => `Info                  CBS    Starting TrustedInstaller initialization.`),
    ev('W10', 60, () => `Info                  CBS    Ending TrustedInstaller initialization.`),
    ev('W11', 50, (r) => `Info                  CBS    Loaded Servicing Stack v${r.int(6, 10)}.${r.int(0, 3)}.${r.int(7600, 9600)}.${r.int(16000, 23000)} with Core: C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_${r.int(6, 10)}.${r.int(0, 3)}.${r.int(7600, 9600)}.${r.int(16000, 23000)}_none_${r.hex(16)}\\cbscore.dll`),
    ev('W12', 50, (r) => `Info                  CSI    ${csi(r)}@${r.int(2016, 2023)}/${r.int(1, 12)}/${r.int(1, 28)}:${r.clock()}.${r.int(100, 999)} WcpInitialize (wcp.dll version 0.0.0.6) called (stack @0x${r.hex(12)} @0x${r.hex(12)} @0x${r.hex(12)})`),
    ev('W13', 40, (r) => `Info                  CBS    Appl: detect Parent, Package: ${pkg(r)}, Parent: ${r.pick(['Microsoft-Windows-Foundation', 'Microsoft-Windows-Client-Features'])}-Package~31bf3856ad364e35~amd64~~${r.int(6, 10)}.${r.int(0, 3)}.${r.int(7600, 9600)}.${r.int(0, 22000)}, Disposition = Detect, VersionComp: EQ, ServiceComp: GE, BuildComp: EQ, DistributionComp: GE, RevisionComp: GE, Exist: present`),
    ev('W14', 40, (r) => `Info                  CBS    Loading offline registry hive: ${r.pick(['SOFTWARE', 'SYSTEM', 'COMPONENTS', 'SECURITY'])}, into registry key '{bf1a281b-ad7b-4476-ac95-f47682990ce7}${r.winPath()}' from path '\\\\?\\${r.winPath()}'.`),
    ev('W15', 30, (r) => `Error                 CBS    Failed to resolve package '${pkg(r)}' [HRESULT = ${hr(r)} - ${r.pick(['CBS_E_INVALID_PACKAGE', 'ERROR_FILE_NOT_FOUND', 'E_ACCESSDENIED'])}]`),
    ev('W16', 30, (r) => `Info                  CBS    SQM: Initializing online with Windows opt-in: ${r.pick(['False', 'True'])}`),
    ev('W17', 25, (r) => `Info                  CBS    NonStart: Checking to ensure startup processing was not required.`),
    ev('W18', 20, (r) => `Info                  CBS    Scavenge: Completes, disposition: ${hr(r)}`),
    ev('W19', 15, (r) => `Info                  CSI    ${csi(r)} Hashes for file member ${r.winPath()} do not match. Expected: {l:32 ml:33 b:${r.hex(64)}}. Actual: {l:32 b:${r.hex(64)}}.`),
    ev('W20', 10, (r) => `Info                  CBS    Setting ExecuteState key to: ${r.pick(['ExecuteStateNone', 'ExecuteStatePending', 'ExecuteStateFinished'])}`),
    ev('W21', 5, (r) => `Info                  CBS    Trusted Installer is shutting down because: SHUTDOWN_REASON_AUTOSTOP`),
    ev('W22', 3, (r) => `Warning               CBS    Failed to open file ${r.winPath()} [HRESULT = ${hr(r)} - ERROR_SHARING_VIOLATION]`),
  ],
};
