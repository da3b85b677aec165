/**
 * Generated systems: cloud and services (a cloud compute controller with
 * request lines, UUIDs and timings; a Kubernetes-like controller in klog
 * format; a PostgreSQL-like database; a Java service with exceptions).
 *
 * Templates and values are invented for these tests from the general shape
 * of such logs; nothing is taken from a public labelled corpus.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const reqId = (r: Rnd) => `[req-${r.uuid()} ${r.hex(32)} ${r.hex(32)}]`;
const vm = (r: Rnd) => `[vm ${r.uuid()}]`;
const project = (r: Rnd) => r.hex(32);
const api = (r: Rnd) => `172.30.${r.int(0, 3)}.${r.int(1, 250)}`;
const hv = (r: Rnd) => `hv-${r.pick(['a', 'b', 'c'])}${pad(r.int(1, 40))}.cloud.example.net`;

export const cloudController: SystemDef = {
  system: 'cloud-controller',
  kind: 'cloud compute controller',
  events: [
    // One statement (the API server's access line): method, path, status and length are filled in.
    ev('C1', 600, (r) => {
      const p = project(r);
      const [req, status] = r.pick<[string, number]>([
        [`GET /v3/${p}/machines?detail=1`, 200],
        [`GET /v3/${p}/machines/${r.uuid()}`, r.pick([200, 404])],
        [`POST /v3/${p}/machines`, 202],
        [`DELETE /v3/${p}/machines/${r.uuid()}`, 204],
        [`PUT /v3/${p}/machines/${r.uuid()}/power`, 202],
      ]);
      return `compute.api.access ${reqId(r)} ${api(r)} "${req} HTTP/1.1" ${status} ${r.int(0, 9000)} ${r.fixed(0.005, 2, 4)}s`;
    }),
    // One statement: the power state is filled in.
    ev('C2', 260, (r) => `compute.agent ${reqId(r)} ${vm(r)} power state now ${r.pick(['running', 'paused', 'shutdown', 'crashed', 'suspended'])} (was ${r.pick(['running', 'paused', 'shutdown', 'building'])})`),
    ev('C3', 150, (r) => `compute.agent ${reqId(r)} ${vm(r)} booted on ${hv(r)} in ${r.fixed(1, 90, 2)}s`),
    ev('C4', 120, (r) => `compute.placement ${reqId(r)} reserved ${r.pick([1, 2, 4, 8])} vcpu ${r.pick([512, 2048, 8192])} MiB ${r.pick([10, 20, 80])} GiB on ${hv(r)} for ${vm(r)}`),
    ev('C5', 100, (r) => `compute.placement ${reqId(r)} no host fits ${vm(r)}: ${r.int(0, 40)} hosts, ${r.int(0, 40)} filtered by ${r.pick(['RamFilter', 'AffinityFilter', 'ZoneFilter'])}`),
    ev('C6', 80, (r) => `compute.agent ${reqId(r)} ${vm(r)} volume ${r.uuid()} attached as /dev/vd${r.pick(['b', 'c', 'd'])}`),
    ev('C7', 70, (r) => `compute.imagecache image ${r.uuid()} cached at /var/lib/compute/images/${r.hex(40)} (${r.human(r.wide(10))})`),
    ev('C8', 60, (r) => `compute.agent ${reqId(r)} ${vm(r)} migration to ${hv(r)} ${r.pick(['completed', 'failed'])} after ${r.fixed(1, 900, 1)}s`),
    ev('C9', 40, (r) => `compute.periodic audit of ${hv(r)}: ${r.int(0, 60)} machines, ram ${r.int(0, 512000)}/${r.int(256000, 512000)} MiB, disk ${r.int(0, 4000)}/${r.int(2000, 8000)} GiB`),
    ev('C10', 30, (r) => `compute.rpc timed out waiting for reply to ${r.pick(['build_and_run', 'get_console', 'detach_volume'])} (msg ${r.hex(32)}) after ${r.int(30, 180)}s`),
    ev('C11', 20, (r) => `compute.agent ${reqId(r)} ${vm(r)} deleted, network ports ${r.uuid()} released`),
    ev('C12', 8, (r) => `compute.service started on ${hv(r)} version ${r.version()}`),
  ],
};

const klog = (r: Rnd, level = r.pick(['I', 'I', 'W', 'E'])) => `${level}${pad(r.int(1, 12))}${pad(r.int(1, 28))} ${r.clock()}.${r.digits(6)}       ${r.int(1, 9)} ${r.pick(['reconciler', 'sync', 'queue', 'node_lifecycle'])}.go:${r.int(20, 900)}]`;
const pod = (r: Rnd) => `${r.pick(['shop', 'payments', 'kube-system', 'monitoring'])}/${r.pick(['web', 'api', 'worker', 'exporter'])}-${r.hex(10)}-${r.hex(5)}`;

export const kubeController: SystemDef = {
  system: 'kube-controller',
  kind: 'Kubernetes-like controller, klog format',
  events: [
    ev('K1', 300, (r) => `${klog(r, 'I')} "Reconciled object" kind="${r.pick(['Deployment', 'ReplicaSet', 'Service'])}" key="${pod(r)}" duration="${r.int(1, 900)}ms"`),
    ev('K2', 220, (r) => `${klog(r, 'I')} "Pod status changed" pod="${pod(r)}" phase="${r.pick(['Pending', 'Running', 'Succeeded', 'Failed'])}" node="${r.pick(['pool-a', 'pool-b'])}-${r.hex(5)}"`),
    ev('K3', 180, (r) => `${klog(r, 'E')} "Failed to sync" err="${r.pick(['context deadline exceeded', 'conflict: the object has been modified', 'not found'])}" key="${pod(r)}"`),
    ev('K4', 150, (r) => `${klog(r, 'W')} "Probe failed" probeType="${r.pick(['Readiness', 'Liveness'])}" pod="${pod(r)}" output="HTTP probe failed with statuscode: ${r.pick([500, 503])}"`),
    ev('K5', 100, (r) => `${klog(r, 'I')} "Scaled" deployment="${pod(r)}" from=${r.int(1, 20)} to=${r.int(1, 20)}`),
    ev('K6', 80, (r) => `${klog(r, 'W')} "Node not ready" node="${r.pick(['pool-a', 'pool-b'])}-${r.hex(5)}" since="${r.int(10, 900)}s"`),
    ev('K7', 60, (r) => `${klog(r, 'I')} "Lease renewed" lease="${r.pick(['kube-system', 'default'])}/${r.pick(['controller', 'scheduler'])}" holder="${r.hex(8)}_${r.uuid()}"`),
    ev('K8', 40, (r) => `${klog(r, 'E')} "Image pull failed" image="registry.example.com/${r.pick(['web', 'api'])}:${r.version()}" pod="${pod(r)}" err="${r.pick(['manifest unknown', 'unauthorized', 'i/o timeout'])}"`),
    ev('K9', 20, (r) => `${klog(r, 'I')} "Evicting pod" pod="${pod(r)}" reason="${r.pick(['MemoryPressure', 'DiskPressure'])}"`),
    ev('K10', 8, (r) => `${klog(r, 'I')} "Starting workers" controller="${r.pick(['endpoints', 'replicaset', 'job'])}" count=${r.int(1, 10)}`),
  ],
};

const db = (r: Rnd) => r.pick(['shop', 'billing', 'analytics', 'auth']);
const role = (r: Rnd) => r.pick(['app', 'reporter', 'postgres', 'migrator', r.user()]);

export const postgres: SystemDef = {
  system: 'postgres',
  kind: 'PostgreSQL-like database',
  events: [
    ev('PG1', 300, (r) => `LOG:  connection received: host=${r.lan()} port=${r.int(1024, 65535)}`),
    ev('PG2', 280, (r) => `LOG:  connection authorized: user=${role(r)} database=${db(r)}${r.chance(0.4) ? ` application_name=${r.pick(['psql', 'api', 'etl'])}` : ''}`),
    ev('PG3', 200, (r) => `LOG:  disconnection: session time: ${r.int(0, 9)}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}.${r.int(100, 999)} user=${role(r)} database=${db(r)} host=${r.lan()} port=${r.int(1024, 65535)}`),
    ev('PG4', 150, (r) => `LOG:  duration: ${r.fixed(500, 90000, 3)} ms  execute ${r.pick(['<unnamed>', 'S_1', 'S_2'])}: SELECT ${r.pick(['*', 'id, total', 'count(*)'])} FROM ${r.pick(['orders', 'users', 'events'])} WHERE ${r.pick(['id', 'user_id', 'created_at'])} ${r.pick(['=', '>', '<'])} $1`),
    ev('PG5', 120, (r) => `LOG:  checkpoint complete: wrote ${r.int(1, 90000)} buffers (${r.fixed(0, 40, 1)}%); ${r.int(0, 9)} WAL file(s) added, ${r.int(0, 9)} removed, ${r.int(0, 9)} recycled; write=${r.fixed(0, 300, 3)} s, sync=${r.fixed(0, 3, 3)} s, total=${r.fixed(0, 300, 3)} s`),
    ev('PG6', 100, (r) => `FATAL:  password authentication failed for user "${role(r)}"`),
    ev('PG7', 80, (r) => `ERROR:  duplicate key value violates unique constraint "${r.pick(['orders_pkey', 'users_email_key', 'events_uniq'])}"`),
    ev('PG8', 70, (r) => `LOG:  automatic vacuum of table "${db(r)}.public.${r.pick(['orders', 'users', 'events'])}": index scans: ${r.int(0, 3)}`),
    ev('PG9', 50, (r) => `ERROR:  canceling statement due to statement timeout`),
    ev('PG10', 40, (r) => `FATAL:  database "${r.pick(['shopp', 'test', 'prod'])}" does not exist`),
    ev('PG11', 30, (r) => `LOG:  process ${r.int(1000, 60000)} still waiting for ShareLock on transaction ${r.int(1e5, 1e8)} after ${r.fixed(1000, 9000, 3)} ms`),
    ev('PG12', 10, (r) => `LOG:  database system is ready to accept connections`),
    ev('PG13', 5, (r) => `LOG:  received ${r.pick(['fast', 'smart'])} shutdown request`),
  ],
};

const cls = (r: Rnd) => `com.example.${r.pick(['orders', 'billing', 'catalog'])}.${r.pick(['OrderService', 'InvoiceJob', 'PriceCache', 'Gateway'])}`;
const thread = (r: Rnd) => r.pick([`http-nio-8080-exec-${r.int(1, 200)}`, `pool-${r.int(1, 9)}-thread-${r.int(1, 40)}`, 'main', `scheduler-${r.int(1, 4)}`]);

export const javaApp: SystemDef = {
  system: 'java-app',
  kind: 'Java service',
  events: [
    ev('JA1', 300, (r) => `[${thread(r)}] INFO  ${cls(r)} - order ${r.int(100000, 999999)} accepted for customer ${r.int(1000, 99999)} total ${r.fixed(1, 900, 2)} EUR`),
    ev('JA2', 250, (r) => `[${thread(r)}] INFO  ${cls(r)} - request ${r.uuid()} served in ${r.int(1, 9000)} ms`),
    ev('JA3', 150, (r) => `[${thread(r)}] WARN  ${cls(r)} - slow call to ${r.pick(['inventory', 'pricing', 'tax'])} service: ${r.int(1000, 30000)} ms (limit ${r.pick([1000, 2000])} ms)`),
    ev('JA4', 120, (r) => `[${thread(r)}] ERROR ${cls(r)} - payment ${r.uuid()} rejected: ${r.pick(['CARD_DECLINED', 'INSUFFICIENT_FUNDS', 'FRAUD_SUSPECTED'])}`),
    ev('JA5', 100, (r) => `[${thread(r)}] ERROR ${cls(r)} - unexpected failure java.net.SocketTimeoutException: Read timed out after ${r.int(1000, 60000)} ms to ${r.lan()}:${r.port()}`),
    ev('JA6', 80, (r) => `[${thread(r)}] INFO  ${cls(r)} - cache ${r.pick(['prices', 'catalog', 'sessions'])} refreshed: ${r.int(0, 99999)} entries, ${r.int(0, 9999)} evicted`),
    ev('JA7', 60, (r) => `[${thread(r)}] WARN  com.zaxxer.hikari.pool.HikariPool - ${r.pick(['main', 'reporting'])} - Connection is not available, request timed out after ${r.int(30000, 30100)}ms.`),
    ev('JA8', 50, (r) => `[${thread(r)}] INFO  ${cls(r)} - user ${r.user()} signed in from ${r.ip()}`),
    ev('JA9', 40, (r) => `[${thread(r)}] ERROR ${cls(r)} - invoice ${r.int(1, 99999)} generation failed: java.lang.NullPointerException: Cannot invoke "${cls(r)}.getTotal()" because "line" is null`),
    ev('JA10', 20, (r) => `[${thread(r)}] INFO  ${cls(r)} - scheduled job ${r.pick(['reindex', 'purge', 'digest'])} finished in ${r.duration()}`),
    ev('JA11', 8, (r) => `[main] INFO  ${cls(r)} - Started application in ${r.fixed(2, 60, 3)} seconds (process running for ${r.fixed(2, 70, 3)})`),
  ],
};
