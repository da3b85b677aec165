/**
 * Generated systems: supercomputers (a BlueGene-like RAS stream, an HPC
 * cluster's node events, a Thunderbird-like mix of kernel and daemon lines
 * with their syslog program prefix). The wording is this project's own.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const loc = (r: Rnd) => `R${pad(r.int(0, 77))}-M${r.int(0, 1)}-N${r.HEX(1)}-C:J${pad(r.int(2, 17))}-U${r.pick(['01', '11'])}`;
const hex0x = (r: Rnd) => `0x${r.hex(8)}`;

export const ras: SystemDef = {
  system: 'ras',
  kind: 'BlueGene-like RAS events',
  events: [
    ev('R1', 300, () => `instruction cache parity error corrected`),
    ev('R2', 200, (r) => `${r.int(1, 9999)} double-hummer alignment exceptions`),
    ev('R3', 150, (r) => `generating core.${r.int(1, 9999)}`),
    ev('R4', 120, (r) => `CE sym ${r.int(0, 31)}, at ${hex0x(r)}, mask 0x${r.hex(2)}`),
    ev('R5', 100, (r) => `total of ${r.int(1, 30)} ddr error(s) detected and corrected`),
    ev('R6', 80, () => `data TLB error interrupt`),
    ev('R7', 70, (r) => `ciod: failed to read message prefix on control stream (CioStream socket to ${r.lan()}:${r.port()}`),
    ev('R8', 60, (r) => `ciod: Error loading ${r.path('/g/g' + r.int(10, 99))}: invalid or missing program image, No such file or directory`),
    ev('R9', 50, (r) => `machine check interrupt (bit=${hex0x(r)}): L2 dcache unit data parity error`),
    ev('R10', 50, (r) => `Lustre mount FAILED : ${loc(r)} : point /p/gb${r.int(1, 2)}`),
    ev('R11', 40, (r) => `rts: kernel terminated for reason ${r.int(1000, 1010)}`),
    ev('R12', 40, (r) => `data storage interrupt`),
    ev('R13', 30, (r) => `ddr: activating redundant bit steering: rank=${r.int(0, 1)} symbol=${r.int(0, 31)}`),
    ev('R14', 30, (r) => `idoproxy hit ASSERT condition: ASSERT expression=0 Source file=transportmgr.cpp Source line=${r.int(100, 2000)} Function=int TransportMgr::SendPacket(UdpMgr*, CtlTrace*)`),
    ev('R15', 25, (r) => `${r.int(1, 64)} torus receiver ${r.pick(['x+', 'x-', 'y+', 'y-', 'z+', 'z-'])} input pipe error(s) (dcr 0x${r.hex(4)}) detected and corrected`),
    ev('R16', 20, (r) => `NodeCard temperature sensor chip ${r.int(0, 3)} is not reporting on ${loc(r)}`),
    ev('R17', 15, (r) => `iar ${hex0x(r)} dear ${hex0x(r)}`),
    ev('R18', 10, (r) => `program interrupt: fp cr field .............${r.int(0, 1)}`),
    ev('R19', 8, (r) => `MidplaneSwitchController performing bit sparing on ${loc(r)} bit ${r.int(0, 40)}`),
    ev('R20', 5, (r) => `shutdown complete on ${loc(r)}`),
    ev('R21', 3, (r) => `Node card VPD check: ${loc(r)} node in processor card slot ${r.int(0, 31)} do not match. VPD ecid ${r.HEX(26)}, found ${r.HEX(26)}`),
  ],
};

const node = (r: Rnd) => `node-${r.int(0, 255)}`;

export const hpc: SystemDef = {
  system: 'hpc',
  kind: 'HPC cluster node events',
  events: [
    ev('H1', 300, (r) => `Component State Change: Component \\042alt0\\042 is in the unavailable state (HWID=${r.int(1000, 5000)})`),
    ev('H2', 200, (r) => `ClusterFileSystem: There is no server for ServerFileSystem domain ${r.pick(['storage', 'scratch', 'home'])}${r.int(100, 999)}`),
    ev('H3', 150, (r) => `Link error on broadcast tree Interconnect-${r.int(0, 3)}T${r.int(0, 15)}:${pad(r.int(0, 63))}:${r.int(0, 9)}`),
    ev('H4', 120, (r) => `PSU status ( ${r.pick(['on', 'off'])} ${r.pick(['on', 'off'])} )`),
    ev('H5', 100, (r) => `boot command Error - ${node(r)}`),
    ev('H6', 100, () => `Command has completed successfully`),
    ev('H7', 90, (r) => `Temperature (${r.int(40, 99)}C) exceeds warning threshold`),
    ev('H8', 80, (r) => `inconsistent nodesets ${node(r)} 0x${r.hex(8)} != 0x${r.hex(8)} in ${r.pick(['gm_set', 'gm_map'])}`),
    ev('H9', 60, (r) => `${node(r)} not responding`),
    ev('H10', 60, (r) => `Fan speeds ( ${Array.from({ length: r.int(3, 6) }, () => r.int(2000, 6000)).join(' ')} )`),
    ev('H11', 50, (r) => `ServerFileSystem: file system ${r.pick(['scratch', 'home', 'proj'])}${r.int(1, 9)} is ${r.int(80, 100)}% full`),
    ev('H12', 40, (r) => `Targeting domains:${node(r)} and nodes:${node(r)} child of command ${r.int(100, 9999)}`),
    ev('H13', 20, (r) => `risBoot command succeeded on ${node(r)}`),
    ev('H13b', 10, (r) => `risBoot command failed on ${node(r)}`),
    ev('H14', 20, (r) => `ambient=${r.int(20, 40)}`),
    ev('H15', 15, (r) => `Power supply ${r.int(0, 3)} failure on ${node(r)}`),
    ev('H16', 10, (r) => `Node ${node(r)} halted by operator ${r.user()}`),
    ev('H17', 5, (r) => `machine check error on cpu${r.int(0, 7)} bank ${r.int(0, 5)}`),
    ev('H18', 3, (r) => `Cluster scheduler restarted after ${r.int(1, 9000)} seconds`),
  ],
};

const pid = (r: Rnd) => r.int(100, 32000);
const tnode = (r: Rnd) => `${r.pick(['an', 'bn', 'cn', 'dn'])}${r.int(1, 999)}`;

export const tbird: SystemDef = {
  system: 'tbird-kernel',
  kind: 'Thunderbird-like kernel and daemon syslog',
  events: [
    ev('T1', 200, (r) => `kernel: e1000: eth${r.int(0, 1)}: e1000_watchdog: NIC Link is Up 1000 Mbps Full Duplex`),
    ev('T2', 150, (r) => `kernel: Losing some ticks... checking if CPU frequency changed.`),
    ev('T3', 150, (r) => `sshd[${pid(r)}]: Accepted publickey for ${r.user()} from ${r.lan()} port ${r.port()} ssh2`),
    ev('T4', 150, (r) => `crond(pam_unix)[${pid(r)}]: session opened for user ${r.pick(['root', 'nobody', 'smmsp'])} by (uid=0)`),
    ev('T5', 140, (r) => `crond(pam_unix)[${pid(r)}]: session closed for user ${r.pick(['root', 'nobody', 'smmsp'])}`),
    ev('T6', 120, (r) => `ntpd[${pid(r)}]: synchronized to ${r.lan()}, stratum ${r.int(1, 4)}`),
    ev('T7', 100, (r) => `kernel: EXT3-fs error (device sd${r.pick(['a', 'b'])}${r.int(1, 9)}): ext3_find_entry: reading directory #${r.int(2, 9999999)} offset ${r.int(0, 9)}`),
    ev('T8', 90, (r) => `dhcpd: DHCPREQUEST for ${r.lan()} from ${r.mac()} via eth${r.int(0, 1)}`),
    ev('T9', 90, (r) => `dhcpd: DHCPACK on ${r.lan()} to ${r.mac()} via eth${r.int(0, 1)}`),
    ev('T10', 80, (r) => `postfix/smtpd[${pid(r)}]: connect from ${tnode(r)}.${r.pick(['cluster', 'admin'])}[${r.lan()}]`),
    ev('T11', 70, (r) => `postfix/smtpd[${pid(r)}]: disconnect from ${tnode(r)}.${r.pick(['cluster', 'admin'])}[${r.lan()}]`),
    ev('T12', 60, (r) => `kernel: [KERNEL_IB][ib_mad_dispatch][${r.path('/usr/src/ib')}.c:${r.int(100, 999)}]${r.chance(0.5) ? '' : ' ' + r.pick(['(-5)', '(-22)'])} MAD method 0x${r.hex(2)} class 0x${r.hex(2)} not supported`),
    ev('T13', 40, (r) => `kernel: Out of Memory: Killed process ${pid(r)} (${r.pick(['python', 'mpirun', 'a.out', 'java'])}).`),
    ev('T14', 30, (r) => `syslog-ng[${pid(r)}]: STATS: dropped ${r.int(0, 999)}`),
    ev('T15', 30, (r) => `pbs_mom: task_check, cannot tm_reply to ${r.int(1000, 99999)}.${tnode(r)} task ${r.int(1, 9)}`),
    ev('T16', 20, (r) => `kernel: mptscsih: ioc${r.int(0, 1)}: attempting task abort! (sc=${r.hex(8)})`),
    ev('T17', 15, (r) => `gmond[${pid(r)}]: data_thread() got no answer from any [${r.pick(['Cluster', 'Admin'])}] datasource`),
    ev('T18', 10, (r) => `kernel: scsi${r.int(0, 3)} (${r.int(0, 3)}:${r.int(0, 3)}): rejecting I/O to offline device`),
    ev('T19', 5, (r) => `xinetd[${pid(r)}]: START: ${r.pick(['rsync', 'tftp', 'auth'])} pid=${pid(r)} from=${r.lan()}`),
    ev('T20', 3, (r) => `kernel: Kernel panic - not syncing: Fatal exception`),
  ],
};
