/**
 * Generated systems: distributed storage and batch jobs (a block store, a
 * map-reduce application master, a Spark-like executor, a ZooKeeper-like
 * coordinator). Message text only, as a log parser sees it after the header.
 * The wording is this project's own; the shapes are those such systems
 * print (block ids with a sign, `/ip:port`, lists of ids of varying length,
 * attempt ids, enum states, word variants that are separate events).
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const blk = (r: Rnd) => `blk_${r.chance(0.5) ? '-' : ''}${r.digits(r.int(18, 19))}`;
const dn = (r: Rnd) => `${r.lan()}:${r.pick([50010, 50010, 50011, 1004])}`;
const jobId = (r: Rnd) => `${r.pick(['1445144423722', '1445062781478', '1445087491445'])}_${pad(r.int(1, 40), 4)}`;
const attempt = (r: Rnd, kind = r.pick(['m', 'r'])) => `attempt_${jobId(r)}_${kind}_${pad(r.int(0, 60), 6)}_${r.int(0, 3)}`;
const execHost = (r: Rnd) => r.pick([`mesos-slave-${pad(r.int(1, 30))}`, `ip-10-0-${r.int(0, 9)}-${r.int(2, 250)}.ec2.internal`, `worker${r.int(1, 60)}`]);

export const blockstore: SystemDef = {
  system: 'blockstore',
  kind: 'HDFS-like block storage',
  events: [
    ev('B1', 300, (r) => `Receiving chunk ${blk(r)} src: /${dn(r)} dest: /${dn(r)}`),
    ev('B2', 280, (r) => `ChunkResponder ${r.int(0, 2)} for chunk ${blk(r)} terminating`),
    ev('B3', 280, (r) => `Received chunk ${blk(r)} of size ${r.pick([67108864, r.wide(8)])} from /${r.lan()}`),
    ev('B4', 250, (r) => `NameSystem.addStoredChunk: chunkMap updated: ${dn(r)} is added to ${blk(r)} size ${r.pick([67108864, r.wide(8)])}`),
    ev('B5', 120, (r) => `NameSystem.allocateChunk: /user/${r.user()}/${r.pick(['rand', 'sort', 'teragen'])}${r.pick(['', String(r.int(1, 9))])}/_temporary/_task_${jobId(r)}_m_${pad(r.int(0, 999), 6)}_0/part-${pad(r.int(0, 999), 5)}. ${blk(r)}`),
    ev('B6', 150, (r) => `Deleting chunk ${blk(r)} file /mnt/hadoop/dfs/data/current/subdir${r.int(0, 63)}/${blk(r)}`),
    ev('B7', 120, (r) => `NameSystem.delete: ${blk(r)} is added to invalidSet of ${dn(r)}`),
    ev('B8', 100, (r) => `${dn(r)} Served chunk ${blk(r)} to /${r.lan()}`),
    ev('B9', 40, (r) => `${dn(r)}:Got exception while serving ${blk(r)} to /${r.lan()}:`),
    ev('B10', 60, (r) => `Verification succeeded for ${blk(r)}`),
    ev('B11', 30, (r) => `ask ${dn(r)} to replicate ${blk(r)} to datanode(s) ${Array.from({ length: r.int(1, 3) }, () => dn(r)).join(' ')}`),
    ev('B12', 30, (r) => `ask ${dn(r)} to delete ${Array.from({ length: r.int(1, 9) }, () => blk(r)).join(' ')}`),
    ev('B13', 8, (r) => `ReplicationMonitor timed out chunk ${blk(r)}`),
    ev('B14', 10, (r) => `Exception in receiveChunk for chunk ${blk(r)} java.io.IOException: Connection reset by peer`),
    ev('B15', 10, (r) => `writeChunk ${blk(r)} received exception java.io.IOException: Could not read from stream`),
    ev('B16', 5, (r) => `Changing chunk file offset of chunk ${blk(r)} from ${r.wide(8)} to ${r.wide(8)} meta file offset to ${r.wide(6)}`),
    ev('B17', 3, (r) => `Adding an already existing chunk ${blk(r)}`),
    ev('B18', 3, (r) => `Unexpected error trying to delete chunk ${blk(r)}. ChunkInfo not found in volumeMap.`),
    ev('B19', 2, (r) => `Starting thread to transfer chunk ${blk(r)} to ${dn(r)}`),
    ev('B20', 2, (r) => `Redundant addStoredChunk request received for ${blk(r)} on ${dn(r)} size ${r.wide(8)}`),
  ],
};

export const mapreduce: SystemDef = {
  system: 'mapreduce',
  kind: 'Hadoop-like application master',
  events: [
    ev('M1', 250, (r) => `Progress of TaskAttempt ${attempt(r)} is : ${r.fixed(0, 1, r.pick([1, 7, 8]))}`),
    ev('M2', 120, (r) => `${attempt(r)} TaskAttempt Transitioned from ${r.pick(['NEW', 'UNASSIGNED', 'ASSIGNED', 'RUNNING'])} to ${r.pick(['UNASSIGNED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAIL_CONTAINER_CLEANUP', 'KILLED'])}`),
    ev('M3', 100, (r) => `Retrying connect to server: ${execHost(r)}/${r.lan()}:${r.pick([8030, 62270, 9000])}. Already tried ${r.int(0, 9)} time(s); retry policy is RetryUpToMaximumCountWithFixedSleep(maxRetries=10, sleepTime=1000 MILLISECONDS)`),
    ev('M4', 90, (r) => `Address change detected. Old: ${execHost(r)}/${r.lan()}:${r.port()} New: ${execHost(r)}:${r.port()}`),
    ev('M5', 80, () => `ERROR IN CONTACTING RM.`),
    ev('M6', 80, (r) => `Recalculating schedule, headroom=<memory:${r.int(0, 9000)}, vCores:${r.int(-30, 10)}>`),
    ev('M7', 70, (r) => `Reduce slow start threshold not met. completedMapsForReduceSlowstart ${r.int(1, 20)}`),
    ev('M8', 60, (r) => `Before Scheduling: PendingReds:${r.int(0, 5)} ScheduledMaps:${r.int(0, 20)} ScheduledReds:${r.int(0, 5)} AssignedMaps:${r.int(0, 20)} AssignedReds:${r.int(0, 2)} CompletedMaps:${r.int(0, 20)} CompletedReds:0 ContAlloc:${r.int(0, 30)} ContRel:0 HostLocal:${r.int(0, 20)} RackLocal:${r.int(0, 5)}`),
    ev('M9', 50, (r) => `JVM with ID : jvm_${jobId(r)}_m_${pad(r.int(0, 60), 6)} asked for a task`),
    ev('M10', 40, (r) => `JVM with ID: jvm_${jobId(r)}_m_${pad(r.int(0, 60), 6)} given task: ${attempt(r, 'm')}`),
    ev('M11', 30, (r) => `Assigned container container_${jobId(r)}_01_${pad(r.int(1, 60), 6)} to ${attempt(r)}`),
    ev('M12', 30, (r) => `Done acknowledgement from ${attempt(r)}`),
    ev('M13', 20, (r) => `KILLING ${attempt(r)}`),
    ev('M14', 15, (r) => `Num completed Tasks: ${r.int(1, 30)}`),
    ev('M15', 15, (r) => `Diagnostics report from ${attempt(r)}: Container killed by the ApplicationMaster.`),
    ev('M16', 10, (r) => `Task succeeded with attempt ${attempt(r)}`),
    ev('M17', 6, (r) => `Ramping down all scheduled reduces:${r.int(0, 3)}`),
    ev('M18', 4, (r) => `Could not delete hdfs://${execHost(r)}:9000/user/${r.user()}/.staging/job_${jobId(r)}`),
    ev('M19', 3, (r) => `Communication exception: java.net.ConnectException: Call From ${execHost(r)}/${r.lan()} to ${execHost(r)}:${r.port()} failed on connection exception: java.net.ConnectException: Connection refused`),
    ev('M20', 2, (r) => `Upper limit on the thread pool size is ${r.int(100, 600)}`),
  ],
};

export const spark: SystemDef = {
  system: 'spark',
  kind: 'Spark-like executor and driver',
  events: [
    ev('S1', 200, (r) => `Running task ${r.int(0, 400)}.${r.int(0, 3)} in stage ${r.int(0, 90)}.0 (TID ${r.int(0, 20000)})`),
    ev('S2', 200, (r) => `Finished task ${r.int(0, 400)}.${r.int(0, 3)} in stage ${r.int(0, 90)}.0 (TID ${r.int(0, 20000)}). ${r.int(900, 9000)} bytes result sent to driver`),
    ev('S3', 120, (r) => `Block broadcast_${r.int(0, 90)} stored as values in memory (estimated size ${r.fixed(0, 900, 1)} ${r.pick(['KB', 'B', 'MB'])}, free ${r.fixed(0, 900, 1)} ${r.pick(['KB', 'MB', 'GB'])})`),
    ev('S4', 110, (r) => `Block broadcast_${r.int(0, 90)}_piece0 stored as bytes in memory (estimated size ${r.fixed(0, 900, 1)} ${r.pick(['KB', 'B'])}, free ${r.fixed(0, 900, 1)} ${r.pick(['KB', 'MB', 'GB'])})`),
    ev('S5', 100, (r) => `Found block rdd_${r.int(0, 60)}_${r.int(0, 400)} locally`),
    ev('S6', 90, (r) => `Partition rdd_${r.int(0, 60)}_${r.int(0, 400)} not found, computing it`),
    ev('S7', 80, (r) => `Reading broadcast variable ${r.int(0, 90)} took ${r.int(1, 900)} ms`),
    ev('S8', 80, (r) => `Got assigned task ${r.int(0, 20000)}`),
    ev('S9', 60, (r) => `Input split: hdfs://${execHost(r)}:8020/data/${r.pick(['events', 'clicks', 'logs'])}/part-${pad(r.int(0, 99), 5)}:${r.wide(9)}+${r.wide(8)}`),
    ev('S10', 40, (r) => `Started reading broadcast variable ${r.int(0, 90)}`),
    ev('S11', 30, (r) => `Getting ${r.int(1, 400)} non-empty blocks out of ${r.int(1, 400)} blocks`),
    ev('S12', 30, (r) => `Started ${r.int(0, 30)} remote fetches in ${r.int(0, 90)} ms`),
    ev('S13', 25, (r) => `Saved output of task 'attempt_${r.digits(12)}_${pad(r.int(0, 99), 4)}_m_${pad(r.int(0, 999), 6)}_${r.int(0, 400)}' to hdfs://${execHost(r)}:8020/out/${r.pick(['daily', 'hourly'])}/_temporary/0/task_${r.digits(12)}`),
    ev('S14', 20, (r) => `Changing view acls to: ${r.user()}`),
    ev('S15', 20, (r) => `Changing modify acls to: ${r.user()}`),
    ev('S16', 15, (r) => `SecurityManager: authentication disabled; ui acls disabled; users with view permissions: Set(${r.user()}); users with modify permissions: Set(${r.user()})`),
    ev('S17', 10, (r) => `Successfully started service 'org.apache.spark.network.netty.NettyBlockTransferService' on port ${r.port()}.`),
    ev('S18', 8, (r) => `Connecting to driver: spark://CoarseGrainedScheduler@${r.lan()}:${r.port()}`),
    ev('S19', 6, (r) => `MemoryStore started with capacity ${r.fixed(1, 20, 1)} GB`),
    ev('S20', 4, () => `Registered signal handlers for [TERM, HUP, INT]`),
    ev('S21', 3, (r) => `Driver commanded a shutdown after ${r.int(1, 900)} seconds`),
    ev('S22', 2, (r) => `Exception in task ${r.int(0, 400)}.0 in stage ${r.int(0, 90)}.0 (TID ${r.int(0, 20000)})`),
  ],
};

const zkPeer = (r: Rnd) => `/${r.lan()}:${r.port()}`;
const sid = (r: Rnd) => `0x${r.hex(r.int(11, 15))}`;

export const zookeeper: SystemDef = {
  system: 'zookeeper',
  kind: 'ZooKeeper-like coordinator',
  events: [
    ev('Z1', 300, (r) => `Accepted socket connection from ${zkPeer(r)}`),
    // One statement: the session part is a conditional expression inside it.
    ev('Z2', 280, (r) => `Closed socket connection for client ${zkPeer(r)} ${r.chance(0.7) ? `which had sessionid ${sid(r)}` : '(no session established for client)'}`),
    ev('Z3', 200, (r) => `Client attempting to establish new session at ${zkPeer(r)}`),
    ev('Z4', 200, (r) => `Established session ${sid(r)} with negotiated timeout ${r.pick([10000, 20000, 30000, 40000])} for client ${zkPeer(r)}`),
    ev('Z5', 80, (r) => `Connection broken for id ${r.int(1, 5)}, my id = ${r.int(1, 5)}, error =`),
    ev('Z6', 70, () => `Interrupting SendWorker`),
    ev('Z7', 70, () => `Send worker leaving thread`),
    ev('Z8', 60, (r) => `Notification: ${r.int(1, 5)} (n.leader), 0x${r.hex(r.int(7, 10))} (n.zxid), 0x${r.int(1, 9)} (n.round), LOOKING (n.state), ${r.int(1, 5)} (n.sid), 0x${r.int(1, 9)} (n.peerEPoch), ${r.pick(['LOOKING', 'FOLLOWING', 'LEADING'])} (my state)`),
    ev('Z9', 60, (r) => `Cannot open channel to ${r.int(1, 5)} at election address ${zkPeer(r)}`),
    ev('Z10', 50, (r) => `caught end of stream exception`),
    ev('Z11', 50, (r) => `Expiring session ${sid(r)}, timeout of ${r.pick([10000, 20000, 30000, 40000])}ms exceeded`),
    ev('Z12', 50, (r) => `Processed session termination for sessionid: ${sid(r)}`),
    ev('Z13', 30, (r) => `Got user-level KeeperException when processing sessionid:${sid(r)} type:${r.pick(['create', 'delete', 'setData'])} cxid:0x${r.hex(r.int(1, 4))} zxid:0x${r.hex(r.int(8, 10))} txntype:${r.pick(['-1', '1', '2'])} reqpath:n/a Error Path:/${r.pick(['hbase', 'kafka', 'locks'])}/${r.word()} Error:KeeperErrorCode = ${r.pick(['NodeExists', 'NoNode', 'NotEmpty'])} for /${r.word()}`),
    ev('Z14', 20, (r) => `Exception causing close of session ${sid(r)} due to java.io.IOException: ${r.pick(['Connection reset by peer', 'Broken pipe'])}`),
    ev('Z15', 10, (r) => `Received connection request ${zkPeer(r)}`),
    ev('Z16', 8, (r) => `Have smaller server identifier, so dropping the connection: (${r.int(1, 5)}, ${r.int(1, 5)})`),
    ev('Z17', 5, (r) => `FOLLOWING - LEADER ELECTION TOOK - ${r.int(10, 9000)}`),
    ev('Z18', 3, (r) => `Snapshotting: 0x${r.hex(9)} to /var/lib/zookeeper/version-2/snapshot.${r.hex(9)}`),
    ev('Z19', 2, (r) => `Reading snapshot /var/lib/zookeeper/version-2/snapshot.${r.hex(9)}`),
    ev('Z20', 2, (r) => `tickTime set to ${r.pick([2000, 3000])}`),
  ],
};
