/**
 * disable_server, drain_server, enable_server: a backend server's admin
 * state (maint, drain, ready). One file: they differ only in the state and
 * in what undoes them (enabling undoes the other two; nothing undoes enable).
 */
import type { ActionUnit } from './types.js';
import { actorOf } from './types.js';
import { serverTarget, serverText, type ServerTarget } from './targets.js';

function serverUnit<const N extends string>(name: N, state: 'maint' | 'drain' | 'ready', verb: string, more: { access: 'widens' | 'none'; inverse?: string; help: string }) {
  return {
    name,
    targetKind: 'server',
    timed: false,
    change: true,
    ...more,
    validate: (raw: string | null) => serverTarget(name, raw),
    text: serverText,
    async execute(deps, t, r) {
      await deps.serverState(actorOf(r), t.backend, t.server, state);
      return `server ${serverText(t)} ${state}`;
    },
    describe: (r) => `${verb} server ${r.target ?? '?'}`,
  } as const satisfies ActionUnit<ServerTarget>;
}

export const disableServerUnit = serverUnit('disable_server', 'maint', 'disable', { access: 'none', inverse: 'enable_server', help: 'take a server out of rotation; target: backend/server' });
export const drainServerUnit = serverUnit('drain_server', 'drain', 'drain', { access: 'none', inverse: 'enable_server', help: 'stop new sessions to a server; target: backend/server' });
export const enableServerUnit = serverUnit('enable_server', 'ready', 'enable', { access: 'widens', help: 'put a server back; target: backend/server' });
