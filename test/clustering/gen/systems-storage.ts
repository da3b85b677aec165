/**
 * Generated systems: distributed storage and batch jobs (an object store's
 * storage daemon, a block-replica data node, a map-reduce-like job master, a
 * Spark-like executor, a quorum coordinator). Message text only, as a log
 * parser sees it after the header.
 *
 * The templates and values are invented for these tests from the general
 * shape of what such daemons print (ids with prefixes, `/ip:port` peers,
 * replica lists of varying length, attempt ids, enum states, durations and
 * sizes with units); they are not taken from any public labelled corpus.
 * Labels follow one event per log statement: an enum printed by one
 * statement is a variable, two statements that differ in a word are two events.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const obj = (r: Rnd) => `obj-${r.hex(r.int(10, 16))}`;
const pg = (r: Rnd) => `${r.int(1, 12)}.${r.hex(r.int(1, 3))}`;
const osd = (r: Rnd) => `sd.${r.int(0, 180)}`;
const peer = (r: Rnd) => `${r.lan()}:${r.pick([6800, 6801, 6802, r.port()])}`;
const rack = (r: Rnd) => r.pick(['rack-a1', 'rack-a2', 'rack-b1', 'rack-c4', 'row7', 'dc2-r11']);

export const objectStore: SystemDef = {
  system: 'objectstore',
  kind: 'object store storage daemon (placement groups, replicas)',
  events: [
    ev('O1', 300, (r) => `pg ${pg(r)} peering with ${Array.from({ length: r.int(1, 4) }, () => osd(r)).join(',')} epoch ${r.int(1000, 90000)}`),
    ev('O2', 260, (r) => `wrote ${obj(r)} to pg ${pg(r)} in ${r.int(1, 900)}ms (${r.human(r.wide(8))})`),
    ev('O3', 200, (r) => `heartbeat from ${osd(r)} at ${peer(r)} late by ${r.fixed(0, 20, 3)}s`),
    ev('O4', 160, (r) => `scrub of pg ${pg(r)} finished: ${r.int(0, 99999)} objects, ${r.int(0, 3)} errors`),
    ev('O5', 120, (r) => `replica ${osd(r)} marked down by ${osd(r)} after ${r.int(2, 60)} missed beats`),
    ev('O6', 100, (r) => `recovering ${r.int(1, 5000)} objects of pg ${pg(r)} from ${osd(r)} at ${r.fixed(0, 900, 1)} MB/s`),
    ev('O7', 80, (r) => `slow request ${r.fixed(30, 300, 6)} seconds old, op ${r.pick(['write', 'read', 'stat', 'delete'])} on ${obj(r)} waiting for ${r.pick(['subops', 'rw locks', 'degraded object'])}`),
    ev('O8', 60, (r) => `placement moved ${r.int(1, 300)} groups off ${rack(r)} (weight ${r.fixed(0, 10, 4)})`),
    ev('O9', 40, (r) => `journal on ${r.pick(['/dev/nvme0n1p', '/dev/sdb', '/dev/sdc'])}${r.int(1, 4)} is ${r.int(60, 99)}% full`),
    ev('O10', 30, (r) => `checksum mismatch on ${obj(r)} shard ${r.int(0, 11)}, expected 0x${r.hex(8)} got 0x${r.hex(8)}`),
    ev('O11', 20, (r) => `map epoch ${r.int(1000, 90000)} applied, ${r.int(0, 40)} up, ${r.int(0, 40)} in`),
    ev('O12', 10, (r) => `started storage daemon ${osd(r)} version ${r.version()} fsid ${r.uuid()}`),
    ev('O13', 5, (r) => `compaction of omap for pg ${pg(r)} freed ${r.human(r.wide(9))}`),
  ],
};

const rep = (r: Rnd) => `rep_${r.digits(r.int(9, 12))}_${r.int(1000, 99999)}`;
const dn = (r: Rnd) => `${r.lan()}:${r.pick([9866, 9866, 9867, 1019])}`;

export const replicaNode: SystemDef = {
  system: 'replica-node',
  kind: 'block-replica data node',
  events: [
    ev('R1', 320, (r) => `Opened write pipeline for ${rep(r)} upstream /${dn(r)} downstream ${Array.from({ length: r.int(0, 2) }, () => `/${dn(r)}`).join(' ') || 'none'}`),
    ev('R2', 300, (r) => `Replica ${rep(r)} finalized, length ${r.wide(9)}, ${r.int(1, 900)} ms`),
    ev('R3', 240, (r) => `Sent ${rep(r)} to /${dn(r)} (${r.bytesWithSize()})`),
    ev('R4', 160, (r) => `Scanner verified ${rep(r)} on volume ${r.pick(['/data1', '/data2', '/mnt/disk3', '/srv/hdd07'])}/current`),
    ev('R5', 120, (r) => `Removing replica ${rep(r)} from ${r.pick(['/data1', '/data2', '/mnt/disk3'])}/current/sub${r.hex(2)}/${rep(r)}`),
    ev('R6', 80, (r) => `Pipeline ack from /${dn(r)} timed out after ${r.int(1000, 90000)} ms for ${rep(r)}`),
    ev('R7', 60, (r) => `Volume ${r.pick(['/data1', '/data2', '/mnt/disk3'])} usage ${r.fixed(40, 99, 1)}% (${r.human(r.wide(12))} free)`),
    ev('R8', 40, (r) => `Registered with coordinator ${r.domain()}:${r.pick([8020, 9000])} as ${r.uuid()}`),
    ev('R9', 30, (r) => `Copy of ${rep(r)} to /${dn(r)} failed: ${r.pick(['connection reset', 'broken pipe', 'checksum error at offset ' + r.wide(8)])}`),
    ev('R10', 20, (r) => `Invalidating ${r.int(1, 200)} replicas as requested by coordinator`),
    ev('R11', 10, (r) => `Heartbeat answered in ${r.int(1, 9000)}ms, ${r.int(0, 50)} commands`),
    ev('R12', 4, (r) => `Disk ${r.pick(['/data1', '/data2', '/mnt/disk3'])} failed health check, ${r.int(1, 9000)} replicas to rebuild`),
  ],
};

const jobId = (r: Rnd) => `job-${r.pick(['20230611', '20230612', '20230614'])}-${pad(r.int(1, 400), 4)}`;
const task = (r: Rnd) => `${jobId(r)}.${r.pick(['map', 'reduce', 'combine'])}.${r.int(0, 800)}.${r.int(0, 3)}`;
const worker = (r: Rnd) => r.pick([`wk${pad(r.int(1, 60))}.batch.internal`, `ip-10-1-${r.int(0, 9)}-${r.int(2, 250)}.internal`, `node${r.int(1, 120)}`]);

export const jobMaster: SystemDef = {
  system: 'job-master',
  kind: 'map-reduce-like job master',
  events: [
    ev('J1', 300, (r) => `task ${task(r)} progress ${r.fixed(0, 100, 1)}% on ${worker(r)}`),
    ev('J2', 200, (r) => `task ${task(r)} state ${r.pick(['PENDING', 'SCHEDULED', 'RUNNING'])} -> ${r.pick(['RUNNING', 'DONE', 'FAILED', 'KILLED', 'LOST'])}`),
    ev('J3', 150, (r) => `granted slot ${r.int(1, 64)} on ${worker(r)} to ${task(r)} (mem ${r.int(512, 16384)} MiB, cores ${r.int(1, 8)})`),
    ev('J4', 120, (r) => `cannot reach resource broker at ${worker(r)}:${r.pick([7030, 7031])}, attempt ${r.int(1, 10)} of 10, sleeping ${r.int(1, 30)}s`),
    ev('J5', 100, (r) => `shuffle fetch of ${r.bytesWithSize()} from ${worker(r)} took ${r.duration()}`),
    ev('J6', 80, (r) => `job ${jobId(r)} submitted by ${r.user()} to queue ${r.pick(['default', 'etl', 'adhoc', 'science'])}`),
    ev('J7', 60, (r) => `job ${jobId(r)} finished: ${r.int(1, 900)} maps, ${r.int(0, 90)} reduces, ${r.int(0, 20)} retries, elapsed ${r.lifetime()}`),
    ev('J8', 50, (r) => `speculating ${task(r)}: ${r.fixed(1, 9, 2)}x slower than median`),
    ev('J9', 40, (r) => `worker ${worker(r)} blacklisted after ${r.int(3, 9)} failures`),
    ev('J10', 30, (r) => `spill ${r.int(0, 99)} of ${task(r)} wrote ${r.int(1, 9999)} records to ${r.path('/tmp/spill')}`),
    ev('J11', 20, (r) => `commit of ${task(r)} output to ${r.path('/warehouse')} ok`),
    ev('J12', 10, (r) => `heap usage ${r.int(50, 99)}% (${r.int(100, 8000)}M of ${r.int(8, 32)}G), triggering collection`),
    ev('J13', 4, (r) => `job master listening on ${worker(r)}:${r.int(30000, 60000)}, web UI on port ${r.int(8000, 9000)}`),
  ],
};

const stage = (r: Rnd) => `${r.int(0, 300)}.${r.int(0, 2)}`;
const exec = (r: Rnd) => `executor-${r.int(1, 200)}`;

export const sparkLike: SystemDef = {
  system: 'dataflow',
  kind: 'Spark-like dataflow executor',
  events: [
    ev('D1', 300, (r) => `Finished partition ${r.int(0, 2000)} of stage ${stage(r)} (TID ${r.int(1, 99999)}) in ${r.int(1, 90000)} ms on ${worker(r)} (${r.int(1, 2000)}/${r.int(1, 2000)})`),
    ev('D2', 280, (r) => `Starting partition ${r.int(0, 2000)} of stage ${stage(r)} (TID ${r.int(1, 99999)}, ${worker(r)}, ${exec(r)}, ${r.pick(['PROCESS_LOCAL', 'NODE_LOCAL', 'RACK_LOCAL', 'ANY'])}, ${r.int(1000, 99999)} bytes)`),
    ev('D3', 200, (r) => `Cached rdd_${r.int(0, 900)}_${r.int(0, 900)} in memory on ${worker(r)}:${r.int(30000, 60000)} (size: ${r.fixed(0, 900, 1)} ${r.pick(['KiB', 'MiB'])}, free: ${r.fixed(0, 90, 1)} GiB)`),
    ev('D4', 150, (r) => `Fetching ${r.int(1, 400)} non-empty blocks including ${r.int(0, 40)} local and ${r.int(0, 400)} remote, ${r.human(r.wide(9))} total`),
    ev('D5', 100, (r) => `Broadcast variable ${r.int(0, 400)} read in ${r.int(1, 900)} ms`),
    ev('D6', 80, (r) => `Lost ${exec(r)} on ${worker(r)}: ${r.pick(['heartbeat timed out', 'container killed for exceeding memory limits', 'remote RPC client disassociated'])}`),
    ev('D7', 60, (r) => `Job ${r.int(0, 900)} done: ${r.pick(['count', 'collect', 'save', 'foreachPartition'])} at ${r.pick(['Etl', 'Report', 'Ingest'])}Job.scala:${r.int(20, 900)}, took ${r.fixed(0, 900, 6)} s`),
    ev('D8', 50, (r) => `Spilling in-memory map of ${r.fixed(0, 900, 1)} MB to disk (${r.int(1, 40)} times so far)`),
    ev('D9', 40, (r) => `Registering output of shuffle ${r.int(0, 90)} from ${exec(r)}`),
    ev('D10', 30, (r) => `Removed broadcast_${r.int(0, 900)}_piece0 on ${worker(r)}:${r.int(30000, 60000)} in memory (size: ${r.fixed(0, 90, 1)} KiB)`),
    ev('D11', 10, (r) => `Executor ${exec(r)} registered with ${r.int(1, 16)} cores and ${r.fixed(1, 30, 1)} GiB`),
    ev('D12', 5, (r) => `Stage ${stage(r)} failed after ${r.int(1, 4)} attempts: ${r.pick(['fetch failure', 'too many task failures'])}`),
  ],
};

const sid = (r: Rnd) => `0x${r.hex(r.int(12, 16))}`;
const member = (r: Rnd) => r.pick(['q1.coord.lan', 'q2.coord.lan', 'q3.coord.lan', '10.40.0.11', '10.40.0.12', 'coord-4', 'coord-5']);

export const quorum: SystemDef = {
  system: 'quorum',
  kind: 'ZooKeeper-like quorum coordinator',
  events: [
    ev('Q1', 300, (r) => `client session ${sid(r)} opened from /${r.lan()}:${r.int(30000, 65000)} with timeout ${r.pick([4000, 10000, 30000, 40000])}ms`),
    ev('Q2', 280, (r) => `client session ${sid(r)} closed, ${r.pick(['expired', 'closed by client', 'connection dropped'])}`),
    ev('Q3', 200, (r) => `no heartbeat from member ${member(r)} for ${r.int(2, 90)} ticks`),
    ev('Q4', 150, (r) => `proposal 0x${r.hex(r.int(6, 10))} committed by ${r.int(2, 5)} of ${r.int(3, 5)} members`),
    ev('Q5', 120, (r) => `vote from ${member(r)}: leader=${r.int(1, 5)}, zxid=0x${r.hex(9)}, round=0x${r.hex(2)}, state=${r.pick(['LOOKING', 'FOLLOWING', 'LEADING'])}`),
    ev('Q6', 100, (r) => `snapshot 0x${r.hex(9)} written to ${r.path('/var/lib/coord')} in ${r.duration()}`),
    ev('Q7', 80, (r) => `rejecting connection from /${r.ip()}:${r.int(1024, 65000)}: too many connections (${r.int(60, 200)})`),
    ev('Q8', 60, (r) => `path ${r.path('/services')} watch fired for session ${sid(r)} (${r.pick(['NodeDataChanged', 'NodeDeleted', 'NodeChildrenChanged'])})`),
    ev('Q9', 40, (r) => `elected leader ${member(r)} in epoch ${r.int(1, 400)} after ${r.int(1, 9000)} ms`),
    ev('Q10', 20, (r) => `request for ${r.path('/locks')} failed: error code ${r.pick(['NONODE', 'NODEEXISTS', 'BADVERSION'])}`),
    ev('Q11', 10, (r) => `sync with leader ${member(r)} took ${r.int(1, 9000)} ms, ${r.int(0, 90000)} transactions`),
    ev('Q12', 4, (r) => `member ${member(r)} joined, ensemble now ${r.int(3, 7)}`),
  ],
};
