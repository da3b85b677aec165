/**
 * Generated systems: supercomputers (a RAS event stream of compute racks, a
 * cluster scheduler and node state log, the kernel and daemon syslog of a
 * large cluster's nodes).
 *
 * Templates and values are invented for these tests from the general shape
 * of such logs (location codes, hex registers, node lists, enum states); they
 * are not taken from any public labelled corpus.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const loc = (r: Rnd) => `R${pad(r.int(0, 47))}-B${r.int(0, 3)}-N${pad(r.int(0, 15))}-C${pad(r.int(0, 31))}`;
const reg = (r: Rnd) => `0x${r.hex(8)}`;

export const ras: SystemDef = {
  system: 'ras',
  kind: 'supercomputer RAS events',
  events: [
    ev('S1', 320, (r) => `RAS KERNEL INFO ${r.int(1, 9999)} ecc double-symbol errors corrected on ${loc(r)}`),
    ev('S2', 240, (r) => `RAS KERNEL INFO torus link ${r.pick(['X+', 'X-', 'Y+', 'Y-', 'Z+', 'Z-'])} retrained on ${loc(r)}, ${r.int(0, 200)} retries`),
    ev('S3', 200, (r) => `RAS APP FATAL job ${r.int(100000, 999999)} rank ${r.int(0, 65535)} got signal ${r.pick([6, 9, 11, 15])} at iar ${reg(r)}`),
    ev('S4', 160, (r) => `RAS KERNEL FATAL machine check: status ${reg(r)} address ${reg(r)} on ${loc(r)}`),
    ev('S5', 140, (r) => `RAS MMCS ERROR service card ${loc(r)} reported temperature ${r.int(40, 95)} C over limit ${r.int(60, 90)} C`),
    ev('S6', 100, (r) => `RAS KERNEL INFO cache parity fault in ${r.pick(['L1', 'L2', 'L3'])} way ${r.int(0, 15)} set ${r.int(0, 4095)} fixed`),
    ev('S7', 80, (r) => `RAS LINKCARD WARNING link card ${loc(r)} lane ${r.int(0, 47)} crc errors ${r.int(1, 90000)}`),
    ev('S8', 60, (r) => `RAS KERNEL INFO boot complete on ${loc(r)} in ${r.int(10, 900)} seconds, image ${r.pick(['cnk', 'ion', 'diag'])}-${r.version()}`),
    ev('S9', 40, (r) => `RAS APP ERROR ciod: cannot open file ${r.path('/gpfs')} for rank ${r.int(0, 65535)}, errno ${r.int(1, 40)}`),
    ev('S10', 30, (r) => `RAS DISCOVERY WARNING node card ${loc(r)} not responding to ${r.int(1, 9)} polls`),
    ev('S11', 20, (r) => `RAS KERNEL FATAL data store interrupt: dear ${reg(r)} esr ${reg(r)}`),
    ev('S12', 10, (r) => `RAS MONITOR FAILURE power module ${loc(r)} voltage ${r.fixed(0.8, 1.4, 3)} V outside ${r.fixed(0.9, 1.0, 2)}..${r.fixed(1.1, 1.3, 2)} V`),
    ev('S13', 5, (r) => `RAS BGLMASTER FAILURE control process exited with status ${r.int(1, 255)}`),
  ],
};

const cn = (r: Rnd) => `cn${r.int(1, 2048)}`;
const nodeList = (r: Rnd) => (r.chance(0.5) ? cn(r) : `cn[${r.int(1, 900)}-${r.int(901, 2048)}]`);

export const scheduler: SystemDef = {
  system: 'hpc-sched',
  kind: 'cluster scheduler and node state',
  events: [
    ev('H1', 300, (r) => `node ${cn(r)} state changed ${r.pick(['idle', 'alloc', 'mixed'])} -> ${r.pick(['alloc', 'idle', 'drain', 'down', 'mixed'])}`),
    ev('H2', 250, (r) => `job ${r.int(100000, 9999999)} allocated ${nodeList(r)} partition ${r.pick(['batch', 'gpu', 'debug', 'long'])} user ${r.user()}`),
    ev('H3', 200, (r) => `job ${r.int(100000, 9999999)} completed exit ${r.int(0, 2)}:${r.int(0, 15)} runtime ${r.lifetime()}`),
    ev('H4', 150, (r) => `${cn(r)} fan ${r.int(1, 8)} speed ${r.int(0, 15000)} rpm below threshold`),
    ev('H5', 120, (r) => `${cn(r)} ambient temperature ${r.int(20, 60)} C`),
    ev('H6', 90, (r) => `job ${r.int(100000, 9999999)} killed: exceeded time limit ${r.int(1, 72)}:00:00`),
    ev('H7', 70, (r) => `${cn(r)} not responding, marking down after ${r.int(60, 900)} s`),
    ev('H8', 50, (r) => `backfill scheduled ${r.int(0, 90)} jobs in ${r.int(1, 9000)} usec, queue depth ${r.int(0, 9000)}`),
    ev('H9', 40, (r) => `${cn(r)} interconnect port ${r.int(1, 36)} link ${r.pick(['up', 'down'])} speed ${r.pick([100, 200, 400])} Gb/s`),
    ev('H10', 30, (r) => `reservation ${r.pick(['maint', 'acct', 'benchmark'])}_${r.int(1, 99)} created for ${nodeList(r)} by ${r.user()}`),
    ev('H11', 20, (r) => `${cn(r)} memory ${r.int(1, 64)}G of ${r.pick([128, 256, 512])}G free, swap ${r.int(0, 99)}%`),
    ev('H12', 8, (r) => `controller took over as primary, ${r.int(0, 90000)} jobs recovered`),
    ev('H13', 3, (r) => `${cn(r)} power supply ${r.int(1, 2)} failed`),
  ],
};

const tnode = (r: Rnd) => `${r.pick(['tn', 'dn', 'bn'])}${r.int(1, 999)}`;

export const clusterSyslog: SystemDef = {
  system: 'cluster-syslog',
  kind: 'kernel and daemon syslog of a large cluster',
  events: [
    ev('T1', 300, (r) => `${tnode(r)} kernel: EDAC MC${r.int(0, 3)}: ${r.int(1, 99)} CE memory read error on CPU_SrcID#${r.int(0, 1)}_Ha#${r.int(0, 1)}_Chan#${r.int(0, 3)}_DIMM#${r.int(0, 2)}`),
    ev('T2', 250, (r) => `${tnode(r)} ntpd[${r.int(1000, 9999)}]: time reset ${r.pick(['+', '-'])}${r.fixed(0, 2, 6)} s`),
    ev('T3', 200, (r) => `${tnode(r)} kernel: ib${r.int(0, 1)}: link ${r.pick(['up', 'down'])}, ${r.pick(['4X', '1X'])} ${r.pick(['EDR', 'HDR', 'FDR'])}`),
    ev('T4', 150, (r) => `${tnode(r)} sshd[${r.int(1000, 65000)}]: session opened for ${r.user()} from ${tnode(r)}`),
    ev('T5', 120, (r) => `${tnode(r)} crond[${r.int(1000, 65000)}]: (${r.user()}) RUN (${r.path('/usr/local/bin')} --quiet)`),
    ev('T6', 100, (r) => `${tnode(r)} kernel: Out of memory in cgroup ${r.path('/slurm')}: killed process ${r.int(1000, 99999)} (${r.pick(['a.out', 'python', 'vasp_std', 'lmp'])})`),
    ev('T7', 80, (r) => `${tnode(r)} kernel: nfs: server ${r.pick(['home1', 'scratch2', 'proj'])} not responding, still trying`),
    ev('T8', 70, (r) => `${tnode(r)} kernel: nfs: server ${r.pick(['home1', 'scratch2', 'proj'])} OK`),
    ev('T9', 60, (r) => `${tnode(r)} pbs_mom: job ${r.int(10000, 999999)}.${r.pick(['head', 'admin1'])} exceeded mem limit ${r.int(1, 256)}gb`),
    ev('T10', 40, (r) => `${tnode(r)} kernel: mce: [Hardware Error]: CPU ${r.int(0, 63)}: Machine Check: 0 Bank ${r.int(0, 22)}: ${r.hex(16)}`),
    ev('T11', 30, (r) => `${tnode(r)} smartd[${r.int(1000, 9999)}]: Device: /dev/sd${r.pick(['a', 'b', 'c'])}, ${r.int(1, 900)} Currently unreadable (pending) sectors`),
    ev('T12', 10, (r) => `${tnode(r)} kernel: Lustre: ${r.pick(['scratch', 'work'])}-OST${r.HEX(4)}: connection restored to ${r.lan()}@o2ib`),
    ev('T13', 5, (r) => `${tnode(r)} ipmievd: sensor ${r.pick(['PSU1', 'PSU2', 'Fan3', 'CPU2 Temp'])} event ${r.pick(['asserted', 'deasserted'])}`),
  ],
};
