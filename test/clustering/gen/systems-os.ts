/**
 * Generated systems: operating systems (a Linux host's auth and daemon
 * syslog, an SSH server, a desktop Unix kernel and daemons, Windows
 * component servicing).
 *
 * Templates and values are invented for these tests from the general shape
 * of such logs: user names, terminal names, remote host names and session
 * ids that look like words, hex result codes, package identities and paths.
 * They are not taken from any public labelled corpus.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const tty = (r: Rnd) => r.pick(['tty1', 'tty2', 'pts/0', 'pts/1', 'pts/3', 'pts/12', 'console', 'ssh', 'NODEVssh', ':0']);
const rhost = (r: Rnd) => (r.chance(0.4) ? r.ip() : r.pick(['gateway', 'laptop-anna', 'build7.lan', 'vpn-pool-3.example.net', 'bastion', 'kiosk', r.domain()]));
const pid = (r: Rnd) => r.int(300, 65000);
const daemon = (r: Rnd) => r.pick(['gdm-session-worker', 'login', 'sudo', 'cron', 'systemd-user']);

export const syslogAuth: SystemDef = {
  system: 'syslog-auth',
  kind: 'Linux auth and daemon syslog',
  events: [
    ev('L1', 300, (r) => `session ${r.int(1, 9999)} opened for ${r.user()} on ${tty(r)} by ${r.pick(['root', r.user()])}(uid=${r.pick([0, r.int(1000, 1100)])})`),
    ev('L2', 280, (r) => `session ${r.int(1, 9999)} closed for ${r.user()}`),
    ev('L3', 180, (r) => `auth failure for ${r.user()} from ${rhost(r)} via ${daemon(r)} tty=${tty(r)} ruser=${r.chance(0.5) ? '' : r.user()}`),
    ev('L4', 150, (r) => `${r.user()} ran command on ${tty(r)} as ${r.pick(['root', 'postgres', 'www-data'])}: ${r.pick(['/usr/bin/systemctl restart nginx', '/bin/ls /root', '/usr/bin/apt upgrade', '/sbin/reboot'])}`),
    ev('L5', 120, (r) => `su: switched from ${r.user()} to ${r.user()} on ${tty(r)}`),
    ev('L6', 100, (r) => `su: FAILED switch from ${r.user()} to ${r.pick(['root', r.user()])} on ${tty(r)}`),
    ev('L7', 100, (r) => `job ${r.pick(['logrotate', 'backup-home', 'apt-daily', 'certcheck', 'tmpclean'])} started for ${r.user()} (pid ${pid(r)})`),
    ev('L8', 80, (r) => `lookup of ${rhost(r)} failed, reverse mapping does not match`),
    ev('L9', 60, (r) => `kernel: usb ${r.int(1, 4)}-${r.int(1, 8)}: new ${r.pick(['high', 'full', 'super'])}-speed USB device number ${r.int(2, 40)} using ${r.pick(['xhci_hcd', 'ehci-pci'])}`),
    ev('L10', 60, (r) => `kernel: ${r.pick(['eth0', 'enp3s0', 'wlan0', 'bond0'])}: link ${r.pick(['up', 'down'])} at ${r.pick([100, 1000, 10000])} Mbps`),
    ev('L11', 40, (r) => `user ${r.user()} locked out after ${r.int(3, 10)} failures from ${rhost(r)}`),
    ev('L12', 30, (r) => `password changed for ${r.user()} by ${r.pick(['root', r.user()])}`),
    ev('L13', 20, (r) => `new group: name=${r.pick(['docker', 'devs', 'ops', r.user()])}, GID=${r.int(1000, 2000)}`),
    ev('L14', 15, (r) => `logind: New seat seat${r.int(0, 3)}, session c${r.int(1, 99)} of user ${r.user()}`),
    ev('L15', 5, (r) => `kernel: audit: backlog limit exceeded, ${r.int(1, 9999)} records lost`),
  ],
};

const port = (r: Rnd) => r.int(1024, 65535);
const key = (r: Rnd) => `SHA256:${r.hex(8)}${r.pick(['Ab', 'xQ', 'Zt', 'k9'])}${r.hex(20)}`;

export const sshd: SystemDef = {
  system: 'sshd',
  kind: 'SSH server',
  events: [
    ev('SS1', 300, (r) => `bad password for ${r.user()} from ${r.ip()} port ${port(r)}`),
    ev('SS2', 260, (r) => `bad password for unknown account ${r.pick(['admin1', 'oracle', 'test', 'support', 'ubnt', 'zyfwp', r.user()])} from ${r.ip()} port ${port(r)}`),
    ev('SS3', 200, (r) => `key ${r.pick(['ED25519', 'RSA', 'ECDSA'])} ${key(r)} accepted for ${r.user()} from ${rhost(r)} port ${port(r)}`),
    ev('SS4', 180, (r) => `peer ${r.ip()} port ${port(r)} hung up before authentication`),
    ev('SS5', 150, (r) => `peer ${r.ip()} port ${port(r)} dropped: ${r.pick(['too many authentication failures', 'no matching key exchange method', 'invalid protocol identifier', 'timeout'])}`),
    ev('SS6', 120, (r) => `session for ${r.user()} ended after ${r.lifetime()}`),
    ev('SS7', 100, (r) => `reverse lookup for ${r.ip()} gave ${r.domain()}, forward lookup disagrees`),
    ev('SS8', 80, (r) => `rate limit: ${r.int(10, 100)} unauthenticated connections from ${r.ip()} in ${r.int(1, 60)}s`),
    ev('SS9', 60, (r) => `forwarding request to ${r.host()}:${r.port()} refused for ${r.user()}`),
    ev('SS10', 40, (r) => `subsystem ${r.pick(['sftp', 'netconf'])} requested by ${r.user()} (pid ${pid(r)})`),
    ev('SS11', 20, (r) => `listening on ${r.pick(['0.0.0.0', '::', r.lan()])} port ${r.pick([22, 2222])}`),
    ev('SS12', 10, (r) => `received signal ${r.pick([1, 15])}, ${r.pick(['reloading', 'terminating'])}`),
  ],
};

const proc = (r: Rnd) => r.pick(['WindowServer', 'Safari', 'mds_stores', 'backupd', 'Mail', 'Finder', 'photoanalysisd', 'cloudd', 'Xcode']);
const bundle = (r: Rnd) => r.pick(['com.apple.Safari', 'com.apple.mail', 'org.mozilla.firefox', 'com.example.notes', 'com.apple.finder', 'com.microsoft.teams2']);

export const desktopUnix: SystemDef = {
  system: 'desktop-unix',
  kind: 'desktop Unix kernel and daemons',
  events: [
    ev('X1', 260, (r) => `kernel: wake reason: ${r.pick(['EC.LidOpen', 'RTC alarm', 'XHC2', 'power button', 'network packet'])}`),
    ev('X2', 220, (r) => `${proc(r)}[${pid(r)}]: connection to service ${bundle(r)}.xpc interrupted`),
    ev('X3', 200, (r) => `powerd: ${r.pick(['Sleep', 'DarkWake', 'Wake'])} after ${r.int(1, 9999)} secs, battery ${r.int(1, 100)}%`),
    ev('X4', 160, (r) => `kernel: Sandbox: ${proc(r)}(${pid(r)}) deny(1) file-read-data ${r.path('/Users/' + r.user())}`),
    ev('X5', 120, (r) => `${proc(r)}[${pid(r)}]: assertion ${r.pick(['PreventUserIdleSystemSleep', 'BackgroundTask', 'PreventDiskIdle'])} created for ${bundle(r)} id 0x${r.hex(5)}`),
    ev('X6', 100, (r) => `kernel: en0: channel changed to ${r.int(1, 165)}, rssi -${r.int(30, 90)} dBm`),
    ev('X7', 80, (r) => `backupd[${pid(r)}]: backup of ${r.int(1, 99999)} items (${r.human(r.wide(10))}) to ${r.pick(['TimeCapsule', 'Backup Disk', 'nas'])} done in ${r.duration()}`),
    ev('X8', 70, (r) => `kernel: memorystatus: killing ${proc(r)} [${pid(r)}] (${r.pick(['vm-pageshortage', 'idle-exit', 'highwater'])}) ${r.int(1000, 900000)}KB`),
    ev('X9', 50, (r) => `mDNSResponder[${pid(r)}]: query for ${r.domain()} timed out after ${r.int(1, 30)}s`),
    ev('X10', 40, (r) => `${proc(r)}[${pid(r)}]: CoreData: fault on object 0x${r.hex(12)} in ${bundle(r)}`),
    ev('X11', 30, (r) => `kernel: thermal pressure ${r.pick(['nominal', 'moderate', 'heavy', 'trapping'])}`),
    ev('X12', 20, (r) => `loginwindow[${pid(r)}]: user ${r.user()} logged in on console`),
    ev('X13', 10, (r) => `kernel: AppleUSBHostPort@${r.hex(8)}: port ${r.int(1, 8)} over-current`),
  ],
};

const pkgId = (r: Rnd) => `Package_${r.pick(['for_KB', 'for_RollupFix', 'for_ServicingStack', ''])}${r.int(3000000, 5099999)}~31bf3856ad364e35~${r.pick(['amd64', 'x86', 'wow64'])}~${r.pick(['', 'en-US'])}~${r.int(6, 10)}.${r.int(0, 3)}.${r.int(1000, 22000)}.${r.int(1, 4000)}`;
const hr = (r: Rnd) => `0x${r.pick(['00000000', '800f081f', '80070002', '800f0922', '80070005', r.hex(8)])}`;

export const servicing: SystemDef = {
  system: 'win-servicing',
  kind: 'Windows component servicing',
  events: [
    ev('W1', 300, (r) => `Info CSI ${pad(r.int(0, 9999), 8)} [SR] Verifying ${r.int(1, 100)} components`),
    ev('W2', 240, (r) => `Info CBS Session: ${r.digits(8)}_${r.digits(10)} initialized by client ${r.pick(['WindowsUpdateAgent', 'DISM Package Manager Provider', 'TrustedInstaller', 'UpdateOrchestrator'])}, external staging directory: ${r.chance(0.5) ? '(null)' : r.winPath()}`),
    ev('W3', 200, (r) => `Info CBS Appl: detect ${r.pick(['Parent', 'Applicability', 'Selectable'])}, Package: ${pkgId(r)}, Parent: ${pkgId(r)}, Intended State: ${r.pick(['Installed', 'Staged', 'Absent'])}`),
    ev('W4', 160, (r) => `Info CBS Loaded Servicing Stack v${r.int(6, 10)}.${r.int(0, 3)}.${r.int(1000, 22000)}.${r.int(1, 4000)} with Core: ${r.winPath()}\\cbscore.dll`),
    ev('W5', 120, (r) => `Error CBS Failed to resolve package '${pkgId(r)}' [HRESULT = ${hr(r)} - ${r.pick(['CBS_E_SOURCE_MISSING', 'ERROR_FILE_NOT_FOUND', 'E_ACCESSDENIED'])}]`),
    ev('W6', 100, (r) => `Info CBS Exec: Processing complete, session: ${r.digits(8)}_${r.digits(10)}, hr: ${hr(r)}`),
    ev('W7', 80, (r) => `Info CSI ${pad(r.int(0, 9999), 8)} Hashes for file member \\??\\${r.winPath()} do not match actual file`),
    ev('W8', 70, (r) => `Warning CBS Reboot required, pending operations ${r.int(1, 9000)}, ${r.winPath()} in use`),
    ev('W9', 60, (r) => `Info CBS Read out cached package applicability for package: ${pkgId(r)}, ApplicableState: ${r.int(0, 112)}, CurrentState: ${r.int(0, 112)}`),
    ev('W10', 40, (r) => `Info CBS Startup processing thread terminated normally`),
    ev('W11', 30, (r) => `Info CSI ${pad(r.int(0, 9999), 8)} CSI Store ${r.int(1, 9999999999)} (0x${r.hex(16)}) initialized`),
    ev('W12', 20, (r) => `Info CBS Scavenge: begin, ${r.int(0, 9000)} superseded components, ${r.human(r.wide(10))} reclaimable`),
    ev('W13', 10, (r) => `Error CSI ${pad(r.int(0, 9999), 8)} (F) STATUS_SXS_ASSEMBLY_MISSING #${r.int(1, 99999)}# from ${r.pick(['CCSDirectTransaction::OperateEnding', 'Windows::COM::CComponentStore::InternalTransact'])} at index ${r.int(0, 99)}[gle=0x${r.hex(8)}]`),
    ev('W14', 5, (r) => `Info CBS Ending TrustedInstaller finalization.`),
  ],
};
