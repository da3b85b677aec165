/**
 * The master CLI: `show proc` and `reload`.
 *
 * The versions differ: 3.0's master answers `reload` synchronously with
 * `Success=1` or `Success=0` (and the new worker's startup output); 2.6
 * reloads asynchronously and answers nothing, so the caller polls `show proc`'s
 * reload and failure counters (process.ts).
 */
import type { SocketClient } from './client.js';

export interface ProcInfo {
  masterPid: number;
  reloads: number;
  failedReloads: number;
  workers: { pid: number; reloads: number; version: string }[];
}

/** Parses the master CLI's `show proc`; null when the reply is not one. */
export function parseShowProc(reply: string): ProcInfo | null {
  let master: { pid: number; reloads: number; failed: number } | null = null;
  const workers: ProcInfo['workers'] = [];
  let section = 'master';
  for (const line of reply.split('\n')) {
    // Sections: the master line, "# workers" (current), "# old workers" (draining after a reload), "# programs".
    if (line.startsWith('# workers')) section = 'workers';
    else if (line.startsWith('# old workers')) section = 'old';
    else if (line.startsWith('# programs')) section = 'programs';
    const m = /^(\d+)\s+(master|worker)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?\s+\S+\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[2] === 'master') master = { pid: Number(m[1]), reloads: Number(m[3]), failed: Number(m[4] ?? 0) };
    else if (section === 'workers') workers.push({ pid: Number(m[1]), reloads: Number(m[3]), version: m[5]! });
  }
  if (!master) return null;
  return { masterPid: master.pid, reloads: master.reloads, failedReloads: master.failed, workers };
}

/**
 * What the master answered to `reload`: `ok` and `failed` (3.0, with the
 * ALERT/error lines as `why`), or `pending` (2.6: no verdict in the reply).
 */
export type ReloadReply = { outcome: 'ok'; output: string } | { outcome: 'failed'; output: string; why: string } | { outcome: 'pending'; output: string };

export function parseReloadReply(reply: string): ReloadReply {
  if (/Success=1/.test(reply)) return { outcome: 'ok', output: reply };
  if (/Success=0/.test(reply)) return { outcome: 'failed', output: reply, why: reply.split('\n').filter((l) => /ALERT|error/i.test(l)).slice(0, 10).join('\n') };
  return { outcome: 'pending', output: reply };
}

export function createMaster(client: SocketClient) {
  return {
    /** `show proc`, parsed; null when the answer is not one. Socket errors reject. */
    showProc: async (opts: { timeoutMs?: number } = {}) => parseShowProc(await client.send('show proc', opts)),
    /** Asks the master to reload; the verdict, when the version gives one (see ReloadReply). */
    reload: async () => parseReloadReply(await client.send('reload')),
  };
}
export type Master = ReturnType<typeof createMaster>;
