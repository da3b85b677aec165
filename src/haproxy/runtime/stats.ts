/** The stats socket's process-wide commands: `show info` and 3.0's `dump stats-file`. */
import { RuntimeError, type SocketClient } from './client.js';

/** `show info` ("Name: value" per line), by name. */
export function parseShowInfo(reply: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of reply.split('\n')) {
    const m = /^([\w.-]+): ?(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  if (out.Name === undefined) throw new RuntimeError(`unexpected "show info" answer: ${reply.trim().slice(0, 200)}`, reply);
  return out;
}

export function createStats(client: SocketClient) {
  return {
    /** `show info` by field name (Name, Version, Pid, Uptime_sec...). */
    info: async (opts: { timeoutMs?: number } = {}) => parseShowInfo(await client.send('show info', opts)),
    /**
     * 3.0's counters as a stats-file (to be written where `stats-file` points,
     * so they survive a reload). A reply that is not a stats-file (2.6: an
     * unknown command) is a RuntimeError.
     */
    async dumpStatsFile(): Promise<string> {
      const out = await client.send('dump stats-file');
      if (!out.startsWith('#')) throw new RuntimeError(`unexpected "dump stats-file" answer: ${out.trim().slice(0, 200)}`, out);
      return out;
    },
  };
}
export type Stats = ReturnType<typeof createStats>;
