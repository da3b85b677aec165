/**
 * Runtime maps and ACL lists (`show/add/del/clear map|acl`), addressed by the
 * file HAProxy loaded them from.
 *
 * Contract: every change is read back (`show <kind> <file>`) before it
 * reports success; a file HAProxy does not know is a RuntimeError.
 */
import { RuntimeError, type SocketClient } from './client.js';
import { expectSuccess, isKeyNotFound, isUnknownTarget } from './replies.js';

export type ListKind = 'map' | 'acl';

/** Keys of `show map` / `show acl` output ("0x55... key [value]" per line). */
export function parseListDump(reply: string): string[] {
  const keys: string[] = [];
  for (const line of reply.split('\n')) {
    const m = /^0x[0-9a-f]+ (\S+)/.exec(line);
    if (m) keys.push(m[1]!);
  }
  return keys;
}

/** Entries of `show map` output: key -> value ("0x55... key value" per line). */
export function parseMapDump(reply: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of reply.split('\n')) {
    const m = /^0x[0-9a-f]+ (\S+)(?: (.*))?$/.exec(line);
    if (m) out.set(m[1]!, m[2] ?? '');
  }
  return out;
}

/** The raw dump of a runtime map or list; throws when HAProxy does not know `file`. */
async function dump(client: SocketClient, kind: ListKind, file: string): Promise<string> {
  const r = await client.send(`show ${kind} ${file}`);
  if (isUnknownTarget(r)) throw new RuntimeError(`HAProxy does not know ${kind} ${file}`, r);
  return r;
}

/**
 * Adds or removes an entry of a map (`value` given) or an ACL list file at
 * runtime, then reads the whole file's runtime copy back and checks the change
 * is there. Idempotent: adding a present key or removing an absent one succeeds
 * without a second copy.
 */
export async function setListEntry(client: SocketClient, kind: ListKind, file: string, key: string, present: boolean, value = '1'): Promise<void> {
  const show = async () => new Set(parseListDump(await dump(client, kind, file)));
  const before = await show();
  if (before.has(key) === present) return;
  const cmd = present ? (kind === 'map' ? `add map ${file} ${key} ${value}` : `add acl ${file} ${key}`) : `del ${kind} ${file} ${key}`;
  const reply = await client.send(cmd);
  if (!(!present && isKeyNotFound(reply))) expectSuccess(cmd, reply);
  const after = await show();
  if (after.has(key) !== present) throw new RuntimeError(`"${cmd}" did not take: the runtime ${kind} does not ${present ? 'hold' : 'drop'} ${key}`);
}

/** Entries per `add map ... <<` payload: well inside HAProxy's command buffer. */
const PAYLOAD_ENTRIES = 500;

/**
 * Makes every key of `keys` present (maps: with `value`) or absent in one
 * pass: one dump before, the adds as `add <kind> <file> <<` payloads (HAProxy
 * 2.6 and 3.0 take several entries at once) or one `del` per key, one dump
 * after that must hold (or lack) every key (`add acl` takes no payload: one
 * command per key there). Idempotent like setListEntry. The
 * cost is two dumps for the batch, not two per key (a flood of blocks).
 */
export async function setListEntries(client: SocketClient, kind: ListKind, file: string, keys: readonly string[], present: boolean, value = '1'): Promise<void> {
  if (keys.length === 0) return;
  const bad = keys.find((k) => !/^[0-9a-fA-F.:/]+$/.test(k));
  if (bad !== undefined) throw new RuntimeError(`refusing a list key that is not an address: ${JSON.stringify(bad.slice(0, 60))}`);
  const before = new Set(parseListDump(await dump(client, kind, file)));
  const todo = [...new Set(keys)].filter((k) => before.has(k) !== present);
  if (present && kind === 'acl') {
    // `add acl` takes no payload (2.6, 3.0): one command per key.
    for (const k of todo) {
      const cmd = `add acl ${file} ${k}`;
      expectSuccess(cmd, await client.send(cmd));
    }
  } else if (present) {
    for (let i = 0; i < todo.length; i += PAYLOAD_ENTRIES) {
      const part = todo.slice(i, i + PAYLOAD_ENTRIES);
      const cmd = `add ${kind} ${file} <<`;
      expectSuccess(cmd, await client.send(cmd, { payload: part.map((k) => `${k} ${value}`).join('\n') }));
    }
  } else {
    for (const k of todo) {
      const cmd = `del ${kind} ${file} ${k}`;
      const reply = await client.send(cmd);
      if (!isKeyNotFound(reply)) expectSuccess(cmd, reply);
    }
  }
  const after = new Set(parseListDump(await dump(client, kind, file)));
  const missed = todo.filter((k) => after.has(k) !== present);
  if (missed.length) throw new RuntimeError(`the runtime ${kind} ${file} does not ${present ? 'hold' : 'drop'} ${missed.length} of ${todo.length} entries (${missed.slice(0, 3).join(', ')}${missed.length > 3 ? ', ...' : ''})`);
}

/**
 * Makes a map hold `key` with `value` (`value` null: not at all), whatever it
 * held before, then reads the map back and checks it. For maps whose values
 * matter (the maintenance map's Retry-After), where setListEntry only cares
 * whether a key is present.
 */
export async function putMapEntry(client: SocketClient, file: string, key: string, value: string | null): Promise<void> {
  if (!/^[A-Za-z0-9._-]+$/.test(key) || (value !== null && !/^[A-Za-z0-9._-]+$/.test(value))) throw new RuntimeError(`refusing a map entry that is not one safe word each: ${JSON.stringify(`${key} ${value ?? ''}`.slice(0, 80))}`);
  const before = parseMapDump(await dump(client, 'map', file));
  if ((before.get(key) ?? null) === value) return;
  const cmd = value === null ? `del map ${file} ${key}` : before.has(key) ? `set map ${file} ${key} ${value}` : `add map ${file} ${key} ${value}`;
  const reply = await client.send(cmd);
  if (!(value === null && isKeyNotFound(reply))) expectSuccess(cmd, reply);
  const after = parseMapDump(await dump(client, 'map', file));
  if ((after.get(key) ?? null) !== value) throw new RuntimeError(`"${cmd}" did not take: the runtime map holds ${JSON.stringify(after.get(key) ?? null)} for ${key}`);
}

export function createMaps(client: SocketClient) {
  return {
    /** The keys of the runtime copy of `file`. */
    keys: async (kind: ListKind, file: string) => parseListDump(await dump(client, kind, file)),
    /** The entries (key -> value) of the runtime map of `file`. */
    entries: async (file: string) => parseMapDump(await dump(client, 'map', file)),
    /** Makes `key` present (with `value`, maps) or absent, read back. */
    set: (kind: ListKind, file: string, key: string, present: boolean, value?: string) => setListEntry(client, kind, file, key, present, value),
    /** Makes a map hold key -> value (null: no entry), read back (putMapEntry). */
    put: (file: string, key: string, value: string | null) => putMapEntry(client, file, key, value),
    /** Makes every key present or absent, two dumps for the whole batch (setListEntries). */
    setMany: (kind: ListKind, file: string, keys: readonly string[], present: boolean, value?: string) => setListEntries(client, kind, file, keys, present, value),
    /** Empties the runtime copy of `file` (the file on disk is untouched), read back. */
    async clear(kind: ListKind, file: string): Promise<void> {
      const cmd = `clear ${kind} ${file}`;
      expectSuccess(cmd, await client.send(cmd));
      if (parseListDump(await dump(client, kind, file)).length > 0) throw new RuntimeError(`"${cmd}" did not take: the runtime ${kind} still holds entries`);
    },
  };
}
export type Maps = ReturnType<typeof createMaps>;
