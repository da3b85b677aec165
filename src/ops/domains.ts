/** Domain and server operations behind the API: config changes through the applier. */
import type { Ops } from './ip-lists.js';
import { deleteDomain, setServerState, upsertDomain, type DomainInput, type ServerState } from '../storage/domains.js';
import { AppError } from '../errors.js';
import { haproxyBackendName } from '../haproxy/render.js';
import { RuntimeError } from '../haproxy/runtime.js';

export function saveDomain(ops: Ops, actor: string, input: DomainInput) {
  return ops.applier.submit({
    actor,
    action: 'domain.upsert',
    target: input.domain,
    detail: { backend: input.backendName, kind: input.kind, servers: input.servers.length },
    mutate: (db) => upsertDomain(db, input),
  });
}

export function removeDomain(ops: Ops, actor: string, domain: string) {
  return ops.applier.submit({
    actor,
    action: 'domain.delete',
    target: domain,
    mutate(db) {
      if (!deleteDomain(db, domain)) throw new AppError('not_found', `domain ${domain} not found`, { field: 'domain' });
      return true;
    },
  });
}

/**
 * Sets a server's administrative state: at once through the runtime API, and
 * in the rendered config (maint = disabled, drain = weight 0) so a reload
 * keeps it.
 */
export function changeServerState(ops: Ops, actor: string, backend: string, server: string, state: ServerState) {
  let weight = 100;
  return ops.applier.runtimeChange({
    actor,
    action: 'server.state',
    target: `${backend}/${server}`,
    detail: { state },
    mutate(db) {
      const s = setServerState(db, backend, server, state);
      weight = s.weight;
      return s;
    },
    files: () => new Map(),
    rewritesConfig: true,
    async runtime(control) {
      const id = `${haproxyBackendName(backend)}/${server}`;
      const send = async (cmd: string) => {
        const r = await control.stats.send(cmd);
        if (r.trim() !== '') throw new RuntimeError(`HAProxy refused "${cmd}": ${r.trim().slice(0, 200)}`, r);
      };
      await send(`set server ${id} state ${state}`);
      if (state === 'ready') await send(`set server ${id} weight ${weight}`);
      const dump = await control.stats.send(`show servers state ${haproxyBackendName(backend)}`);
      const want = state === 'maint' ? (a: number) => (a & 0x01) !== 0 : state === 'drain' ? (a: number) => (a & 0x08) !== 0 : (a: number) => (a & 0x09) === 0;
      const lines = dump.split('\n');
      const header = lines.find((l) => l.startsWith('# be_id'))?.slice(2).split(' ');
      const row = lines.find((l) => l.split(' ')[3] === server);
      if (!header || !row) throw new RuntimeError(`cannot read back the state of ${id}`, dump);
      const admin = Number(row.split(' ')[header.indexOf('srv_admin_state')]);
      if (!want(admin)) throw new RuntimeError(`the state of ${id} did not change to ${state}`);
    },
  });
}
