/**
 * Generated systems: cloud and services (an OpenStack-like compute
 * controller with request lines, UUIDs and timings; a Kubernetes-like
 * controller in klog format; a PostgreSQL-like database; a Java service
 * with exceptions and stack frames). The wording is this project's own.
 */
import { ev, pad, type Rnd, type SystemDef } from './random.js';

const reqId = (r: Rnd) => `[req-${r.uuid()} ${r.hex(32)} ${r.hex(32)} - - -]`;
const inst = (r: Rnd) => `[instance: ${r.uuid()}]`;
const tenant = (r: Rnd) => r.pick(['e9746973ac574c6b8a9e8857f56a7608', '54fadb412c4e40cdbaed9335e4c35a9e', 'f7b8d1f1d4d44643b07fa10ca7d021fb']);
const cip = (r: Rnd) => `10.11.${r.int(10, 11)}.${r.int(1, 250)}`;

export const cloudController: SystemDef = {
  system: 'cloud-controller',
  kind: 'OpenStack-like compute controller',
  events: [
    // One statement (the WSGI server's access line): the request line, status and length are filled in.
    ev('C1', 650, (r) => {
      const [req, status, len] = r.pick<[string, number, number]>([
        [`GET /v2/${tenant(r)}/servers/detail`, 200, r.int(1500, 2000)],
        [`GET /v2/${tenant(r)}/servers/detail`, 200, r.int(1500, 2000)],
        [`GET /v2/${tenant(r)}/servers/detail`, 200, r.int(1500, 2000)],
        [`POST /v2/${tenant(r)}/os-server-external-events`, 200, r.int(300, 400)],
        [`DELETE /v2/${tenant(r)}/servers/${r.uuid()}`, 204, 203],
        [`GET /v2/${tenant(r)}/servers/${r.uuid()}`, r.pick([200, 404]), r.int(1500, 2000)],
      ]);
      return `nova.osapi_compute.wsgi.server ${reqId(r)} ${cip(r)} "${req} HTTP/1.1" status: ${status} len: ${len} time: ${r.fixed(0.05, 0.6, 7)}`;
    }),
    // One statement: the state is filled in.
    ev('C5', 290, (r) => `nova.compute.manager ${reqId(r)} ${inst(r)} VM ${r.pick(['Started', 'Paused', 'Resumed', 'Stopped'])} (Lifecycle Event)`),
    ev('C9', 70, (r) => `nova.compute.manager ${reqId(r)} ${inst(r)} Took ${r.fixed(0, 30, 2)} seconds to spawn the instance on the hypervisor.`),
    ev('C10', 60, (r) => `nova.compute.manager ${reqId(r)} ${inst(r)} Took ${r.fixed(0, 30, 2)} seconds to build instance.`),
    ev('C11', 60, (r) => `nova.compute.claims ${reqId(r)} ${inst(r)} Claim successful`),
    ev('C12', 60, (r) => `nova.compute.claims ${reqId(r)} ${inst(r)} Attempting claim: memory ${r.pick([512, 2048, 4096])} MB, disk ${r.pick([1, 20, 40])} GB, vcpus ${r.int(1, 8)} CPU`),
    ev('C13', 50, (r) => `nova.compute.claims ${reqId(r)} ${inst(r)} Total memory: ${r.int(60000, 70000)} MB, used: ${r.fixed(500, 9000, 2)} MB`),
    ev('C14', 40, (r) => `nova.compute.resource_tracker ${reqId(r)} Compute_service record updated for cp-${r.int(1, 9)}.${r.pick(['slowvm1', 'fastvm2'])}.tbres.example.net:cp-${r.int(1, 9)}.${r.pick(['slowvm1', 'fastvm2'])}.tbres.example.net`),
    ev('C15', 40, (r) => `nova.compute.resource_tracker ${reqId(r)} Final resource view: name=cp-${r.int(1, 9)}.example.net phys_ram=${r.int(60000, 70000)}MB used_ram=${r.int(500, 9000)}MB phys_disk=${r.int(10, 20)}GB used_disk=${r.int(0, 20)}GB total_vcpus=${r.int(8, 64)} used_vcpus=${r.int(0, 8)} pci_stats=[]`),
    ev('C16', 30, (r) => `nova.virt.libvirt.imagecache ${reqId(r)} image ${r.uuid()} at (/var/lib/nova/instances/_base/${r.hex(40)}): checking`),
    ev('C17', 25, (r) => `nova.virt.libvirt.imagecache ${reqId(r)} Active base files: /var/lib/nova/instances/_base/${r.hex(40)}`),
    ev('C18', 20, (r) => `nova.compute.manager ${reqId(r)} ${inst(r)} Terminating instance`),
    ev('C19', 15, (r) => `nova.virt.libvirt.driver ${reqId(r)} ${inst(r)} Deletion of /var/lib/nova/instances/${r.uuid()}_del complete`),
    ev('C20', 10, (r) => `nova.compute.manager ${reqId(r)} ${inst(r)} During sync_power_state the instance has a pending task (spawning). Skip.`),
    ev('C21', 5, (r) => `nova.metadata.wsgi.server ${reqId(r)} ${cip(r)},${cip(r)} "GET /openstack/2013-10-17/meta_data.json HTTP/1.1" status: 200 len: ${r.int(900, 1100)} time: ${r.fixed(0.1, 0.4, 7)}`),
    ev('C22', 3, (r) => `nova.compute.manager ${reqId(r)} Running instance usage audit for host cp-${r.int(1, 9)}.example.net from 2023-${pad(r.int(1, 12))}-01 00:00:00 to 2023-${pad(r.int(1, 12))}-01 00:00:00. ${r.int(0, 9)} instances.`),
  ],
};

const klogHead = (r: Rnd, lvl = 'I') => `${lvl}${pad(r.int(1, 12))}${pad(r.int(1, 28))} ${r.clock()}.${r.digits(6)}    ${r.int(1, 9)}`;
const ns = (r: Rnd) => r.pick(['default', 'kube-system', 'monitoring', 'payments', 'web']);
const podName = (r: Rnd) => `${r.pick(['api', 'web', 'worker', 'redis', 'coredns', 'ingress-nginx-controller'])}-${r.hex(9)}-${r.hex(5)}`;
const podRef = (r: Rnd) => `"${ns(r)}/${podName(r)}"`;

export const kubeController: SystemDef = {
  system: 'kube-controller',
  kind: 'Kubernetes-like kubelet and controller (klog)',
  events: [
    ev('K1', 250, (r) => `${klogHead(r)} reconciler_common.go:${r.int(150, 260)}] "operationExecutor.VerifyControllerAttachedVolume started for volume" volume="${r.pick(['kube-api-access', 'config', 'data', 'tls'])}-${r.hex(5)}" pod=${podRef(r)}`),
    ev('K2', 200, (r) => `${klogHead(r)} kubelet.go:${r.int(2000, 2500)}] "SyncLoop (PLEG): event for pod" pod=${podRef(r)} event={"ID":"${r.uuid()}","Type":"${r.pick(['ContainerStarted', 'ContainerDied'])}","Data":"${r.hex(64)}"}`),
    ev('K3', 150, (r) => `${klogHead(r, 'E')} pod_workers.go:${r.int(1200, 1300)}] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"${r.pick(['app', 'sidecar'])}\\" with CrashLoopBackOff: \\"back-off ${r.pick(['10s', '40s', '2m40s', '5m0s'])} restarting failed container=${r.pick(['app', 'sidecar'])} pod=${podName(r)}_${ns(r)}(${r.uuid()})\\"" pod=${podRef(r)} podUID=${r.uuid()}`),
    ev('K4', 150, (r) => `${klogHead(r)} prober.go:${r.int(100, 120)}] "Probe failed" probeType="${r.pick(['Readiness', 'Liveness'])}" pod=${podRef(r)} podUID=${r.uuid()} containerName="${r.pick(['app', 'sidecar'])}" probeResult=failure output="Get \\"http://${r.lan()}:${r.pick([8080, 9090])}/healthz\\": context deadline exceeded"`),
    ev('K5', 120, (r) => `${klogHead(r)} scope.go:${r.int(110, 130)}] "RemoveContainer" containerID="${r.hex(64)}"`),
    ev('K6', 100, (r) => `${klogHead(r)} kuberuntime_manager.go:${r.int(1000, 1100)}] "Creating container in pod" containerName="${r.pick(['app', 'sidecar', 'init'])}" pod=${podRef(r)}`),
    ev('K7', 80, (r) => `${klogHead(r)} replica_set.go:${r.int(600, 700)}] "Finished syncing" kind="ReplicaSet" key="${ns(r)}/${podName(r).slice(0, -6)}" duration="${r.int(1, 900)}.${r.digits(3)}µs"`),
    ev('K8', 70, (r) => `${klogHead(r, 'W')} reflector.go:${r.int(500, 560)}] k8s.io/client-go/informers/factory.go:${r.int(140, 160)}: watch of *v1.${r.pick(['Pod', 'Node', 'Endpoints', 'Secret'])} ended with: an error on the server ("unable to decode an event from the watch stream: http2: client connection lost") has prevented the request from succeeding`),
    ev('K9', 60, (r) => `${klogHead(r)} event.go:${r.int(280, 300)}] Event(v1.ObjectReference{Kind:"${r.pick(['Pod', 'Deployment'])}", Namespace:"${ns(r)}", Name:"${podName(r)}", UID:"${r.uuid()}", APIVersion:"v1", ResourceVersion:"${r.int(1e5, 9e6)}", FieldPath:""}): type: 'Normal' reason: 'Scheduled' Successfully assigned ${ns(r)}/${podName(r)} to node-${r.int(1, 30)}`),
    ev('K10', 50, (r) => `${klogHead(r, 'E')} remote_runtime.go:${r.int(300, 700)}] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = an error occurred when try to find container \\"${r.hex(64)}\\": not found" containerID="${r.hex(64)}"`),
    ev('K11', 40, (r) => `${klogHead(r)} leaderelection.go:${r.int(250, 260)}] successfully acquired lease ${ns(r)}/${r.pick(['kube-controller-manager', 'kube-scheduler'])}`),
    ev('K12', 30, (r) => `${klogHead(r)} node_lifecycle_controller.go:${r.int(1100, 1200)}] "Node is NotReady" node="node-${r.int(1, 30)}" lastHeartbeat="${r.date()} ${r.clock()} +0000 UTC"`),
    ev('K13', 20, (r) => `${klogHead(r)} eviction_manager.go:${r.int(330, 370)}] "Eviction manager: attempting to reclaim" resourceName="${r.pick(['memory', 'ephemeral-storage', 'nodefs.inodesFree'])}"`),
    ev('K14', 10, (r) => `${klogHead(r, 'E')} kubelet_node_status.go:${r.int(500, 600)}] "Error updating node status, will retry" err="error getting node \\"node-${r.int(1, 30)}\\": Get \\"https://${r.lan()}:6443/api/v1/nodes/node-${r.int(1, 30)}?timeout=10s\\": net/http: request canceled"`),
    ev('K15', 5, (r) => `${klogHead(r)} server.go:${r.int(400, 500)}] "Kubelet version" kubeletVersion="v1.${r.int(24, 30)}.${r.int(0, 9)}"`),
  ],
};

const pgHead = (r: Rnd, lvl: string) => `${r.date()} ${r.clock()}.${r.digits(3)} UTC [${r.int(100, 99999)}] ${r.chance(0.6) ? `${r.pick(['app', 'postgres', 'report'])}@${r.pick(['shop', 'analytics', 'postgres'])} ` : ''}${lvl}:  `;
const table = (r: Rnd) => r.pick(['orders', 'users', 'line_items', 'sessions', 'payments']);

export const postgres: SystemDef = {
  system: 'postgres',
  kind: 'PostgreSQL-like database server',
  events: [
    ev('G1', 250, (r) => `${pgHead(r, 'LOG')}connection received: host=${r.lan()} port=${r.port()}`),
    ev('G2', 250, (r) => `${pgHead(r, 'LOG')}connection authorized: user=${r.pick(['app', 'report', 'postgres'])} database=${r.pick(['shop', 'analytics'])}${r.chance(0.5) ? ` application_name=${r.pick(['psql', 'pgbouncer', 'api'])}` : ''}`),
    ev('G3', 200, (r) => `${pgHead(r, 'LOG')}disconnection: session time: ${r.int(0, 9)}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}.${r.digits(3)} user=${r.pick(['app', 'report'])} database=${r.pick(['shop', 'analytics'])} host=${r.lan()} port=${r.port()}`),
    ev('G4', 150, (r) => `${pgHead(r, 'ERROR')}duplicate key value violates unique constraint "${table(r)}_${r.pick(['pkey', 'email_key', 'sku_key'])}"`),
    ev('G5', 140, (r) => `${pgHead(r, 'DETAIL')}Key (${r.pick(['id', 'email', 'sku'])})=(${r.chance(0.5) ? r.int(1, 999999) : r.user() + '@example.com'}) already exists.`),
    ev('G6', 100, (r) => `${pgHead(r, 'LOG')}checkpoint starting: ${r.pick(['time', 'wal', 'immediate force wait'])}`),
    ev('G7', 100, (r) => `${pgHead(r, 'LOG')}checkpoint complete: wrote ${r.int(1, 9000)} buffers (${r.fixed(0, 30, 1)}%); ${r.int(0, 3)} WAL file(s) added, ${r.int(0, 9)} removed, ${r.int(0, 9)} recycled; write=${r.fixed(0, 300, 3)} s, sync=${r.fixed(0, 3, 3)} s, total=${r.fixed(0, 300, 3)} s`),
    ev('G8', 90, (r) => `${pgHead(r, 'FATAL')}password authentication failed for user "${r.user()}"`),
    ev('G9', 80, (r) => `${pgHead(r, 'LOG')}duration: ${r.fixed(100, 9000, 3)} ms  execute <unnamed>: ${r.pick(['SELECT', 'UPDATE', 'DELETE'])} ${r.pick(['*', 'id, total'])} ${r.pick(['FROM', 'WHERE'])} ${table(r)}`),
    ev('G10', 60, (r) => `${pgHead(r, 'ERROR')}relation "${r.pick(['public.', ''])}${table(r)}${r.pick(['_old', '_tmp', '2'])}" does not exist at character ${r.int(10, 200)}`),
    ev('G11', 50, (r) => `${pgHead(r, 'ERROR')}canceling statement due to statement timeout`),
    ev('G12', 40, (r) => `${pgHead(r, 'LOG')}automatic vacuum of table "${r.pick(['shop', 'analytics'])}.public.${table(r)}": index scans: ${r.int(0, 3)}`),
    ev('G13', 30, (r) => `${pgHead(r, 'ERROR')}deadlock detected`),
    ev('G14', 25, (r) => `${pgHead(r, 'LOG')}process ${r.int(100, 99999)} still waiting for ShareLock on transaction ${r.int(1e5, 9e7)} after ${r.fixed(1000, 9000, 3)} ms`),
    ev('G15', 20, (r) => `${pgHead(r, 'FATAL')}remaining connection slots are reserved for non-replication superuser connections`),
    ev('G16', 10, (r) => `${pgHead(r, 'LOG')}database system was shut down at ${r.date()} ${r.clock()} UTC`),
    // Two statements in the server's source, one per shutdown mode.
    ev('G17', 3, (r) => `${pgHead(r, 'LOG')}received fast shutdown request`),
    ev('G17b', 2, (r) => `${pgHead(r, 'LOG')}received smart shutdown request`),
  ],
};

const cls = (r: Rnd) => `com.example.${r.pick(['orders', 'billing', 'catalog'])}.${r.pick(['service', 'web', 'repo'])}.${r.pick(['OrderService', 'InvoiceController', 'ItemRepository', 'PaymentClient', 'CartHandler'])}`;
const thread = (r: Rnd) => r.pick([`http-nio-8080-exec-${r.int(1, 200)}`, `pool-${r.int(1, 9)}-thread-${r.int(1, 50)}`, 'main', `scheduling-${r.int(1, 4)}`]);
const jHead = (r: Rnd, lvl: string) => `${r.date()} ${r.clock()}.${r.digits(3)} ${lvl.padEnd(5)} ${r.int(1000, 9999)} --- [${thread(r)}] ${cls(r).slice(0, 30)}`;

export const javaApp: SystemDef = {
  system: 'java-app',
  kind: 'Java web service with exceptions and stack frames',
  events: [
    ev('J1', 300, (r) => `\tat ${cls(r)}.${r.pick(['process', 'handle', 'save', 'lambda$run$0', 'invoke'])}(${r.pick(['OrderService', 'InvoiceController', 'ItemRepository'])}.java:${r.int(10, 900)})`),
    ev('J2', 200, (r) => `${jHead(r, 'INFO')} : Completed order ${r.uuid()} for customer ${r.int(1000, 99999)} in ${r.int(1, 900)} ms`),
    ev('J3', 150, (r) => `${jHead(r, 'WARN')} : Slow query took ${r.int(500, 9000)}ms: ${r.pick(['findByCustomer', 'findOpenOrders', 'countByStatus'])}`),
    ev('J4', 120, (r) => `${jHead(r, 'ERROR')} : Request failed for ${r.pick(['GET', 'POST'])} ${r.pick(['/api/orders', `/api/orders/${r.int(1, 99999)}`, '/api/cart'])}: ${r.pick(['Connection refused', 'Read timed out'])}`),
    ev('J5', 100, (r) => `\t... ${r.int(1, 120)} more`),
    ev('J6', 90, (r) => `Caused by: java.net.SocketTimeoutException: Read timed out`),
    ev('J7', 80, (r) => `Caused by: java.sql.SQLTransientConnectionException: HikariPool-${r.int(1, 2)} - Connection is not available, request timed out after ${r.int(30000, 30100)}ms.`),
    ev('J8', 80, (r) => `${jHead(r, 'INFO')} : HikariPool-${r.int(1, 2)} - Pool stats (total=${r.int(1, 20)}, active=${r.int(0, 20)}, idle=${r.int(0, 20)}, waiting=${r.int(0, 9)})`),
    ev('J9', 60, (r) => `java.lang.NullPointerException: Cannot invoke "${cls(r)}.${r.pick(['getId', 'getTotal'])}()" because "${r.pick(['order', 'item', 'this.cart'])}" is null`),
    ev('J10', 50, (r) => `${jHead(r, 'WARN')} : Retrying payment ${r.uuid()} (attempt ${r.int(1, 5)} of 5) after ${r.pick(['250ms', '1s', '2.5s'])}`),
    ev('J11', 40, (r) => `${jHead(r, 'INFO')} : Started Application in ${r.fixed(2, 30, 3)} seconds (process running for ${r.fixed(2, 40, 3)})`),
    ev('J12', 30, (r) => `${jHead(r, 'ERROR')} : Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception`),
    ev('J13', 20, (r) => `org.springframework.dao.DataIntegrityViolationException: could not execute statement; SQL [n/a]; constraint [${r.pick(['orders_pkey', 'uk_email'])}]`),
    ev('J14', 15, (r) => `${jHead(r, 'INFO')} : Tomcat started on port(s): ${r.pick([8080, 8443])} (http) with context path ''`),
    ev('J15', 10, (r) => `${jHead(r, 'WARN')} : Circuit breaker '${r.pick(['payments', 'inventory'])}' changed state from CLOSED to OPEN`),
    ev('J16', 5, (r) => `${jHead(r, 'ERROR')} : Exception in scheduled task ${r.pick(['reindex', 'cleanup'])}: java.lang.OutOfMemoryError: Java heap space`),
  ],
};
