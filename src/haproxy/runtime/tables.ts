/** Stick tables at runtime: `show table <t>`, parsed as key=value pairs. */
import { RuntimeError, type SocketClient } from './client.js';

export interface TableDump {
  /** The `# table: web, type: ipv6, size:1024, used:1` line, by name. */
  header: Record<string, string>;
  /** One record per entry, field name -> value (key, exp, conn_cur, http_req_rate(10000)...; 3.0 adds shard). */
  entries: Record<string, string>[];
}

/** Parses `show table <t>` dumps by key=value fields (never by position: 3.0 adds shard=). */
export function parseShowTable(reply: string): TableDump {
  const lines = reply.split('\n');
  const first = lines[0] ?? '';
  if (!first.startsWith('# table:')) throw new RuntimeError(`unexpected "show table" answer: ${first.slice(0, 200)}`, reply);
  const header: Record<string, string> = {};
  for (const m of first.slice(2).matchAll(/(\w+):\s*([^,]+)/g)) header[m[1]!] = m[2]!.trim();
  const entries: Record<string, string>[] = [];
  for (const line of lines.slice(1)) {
    if (!/^0x[0-9a-f]+:/.test(line)) continue;
    const e: Record<string, string> = {};
    for (const m of line.matchAll(/([\w()]+)=(\S+)/g)) e[m[1]!] = m[2]!;
    entries.push(e);
  }
  return { header, entries };
}

export function createTables(client: SocketClient) {
  return {
    /** The dump of stick table `table`; a reply that is not one is a RuntimeError. */
    show: async (table: string) => parseShowTable(await client.send(`show table ${table}`)),
  };
}
export type Tables = ReturnType<typeof createTables>;
