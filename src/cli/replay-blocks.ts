/**
 * A stream or a file cut into blocks of whole lines in shared memory, for
 * `monitor replay`: in one thread (replay-lines.ts readLines) and sharded
 * (replay-shards.ts), where every shard reads the same bytes. Each byte is
 * copied once, into one of a few buffers that are used again once every
 * reader is done with them. (A fresh buffer per block made the
 * main thread's garbage collector and V8's helper threads busy with
 * megabytes of discarded memory.)
 *
 * Contract: `onBlock` gets each block in stream order: bytes [0, length) of
 * `bytes`, whole lines each ending with "\n", or with `last`, the text after
 * the stream's last newline (not empty). The buffer is the caller's until it
 * calls `release(bytes)`; the reader waits for a released buffer when all
 * are in use, which bounds memory and the blocks in flight. A line longer
 * than a buffer gets a larger buffer of its own.
 */
import type { FileHandle } from 'node:fs/promises';

const BLOCK = 1 << 20;
const NL = 10;

/** A file's handle (fs/promises open), not a stream (a read stream has an fd too, and a read method of its own). */
function isFileHandle(x: NodeJS.ReadableStream | FileHandle): x is FileHandle {
  return typeof (x as FileHandle).stat === 'function';
}

export interface Block {
  bytes: SharedArrayBuffer;
  length: number;
  last: boolean;
}

/** `buffers`: at least 2 (one being filled while the others are in flight). */
export function createBlockReader(buffers: number) {
  if (buffers < 2) throw new Error('a block reader needs at least 2 buffers');
  const free: SharedArrayBuffer[] = Array.from({ length: buffers }, () => new SharedArrayBuffer(BLOCK));
  let waiting: (() => void) | null = null;

  let failed: Error | null = null;

  async function acquire(): Promise<SharedArrayBuffer> {
    while (free.length === 0 && failed === null) await new Promise<void>((r) => (waiting = r));
    if (failed !== null) throw failed;
    return free.pop()!;
  }

  function wake(): void {
    const w = waiting;
    waiting = null;
    w?.();
  }

  /** Stops a read waiting for a buffer that will not come back (a shard failed): it throws `e`. */
  function abort(e: Error): void {
    failed ??= e;
    wake();
  }

  function release(b: SharedArrayBuffer): void {
    // A buffer grown for one long line (or a stream's tail) is not kept: the ring stays as it was made.
    if (b.byteLength === BLOCK) free.push(b);
    wake();
  }

  /**
   * Reads `input` to its end: a stream, or a file's handle, which is read
   * straight into the shared buffers (a stream's own chunks, a megabyte each
   * freshly allocated, kept the main thread's garbage collector busy).
   */
  async function read(input: NodeJS.ReadableStream | FileHandle, onBlock: (b: Block) => void | Promise<void>): Promise<void> {
    let cur = await acquire();
    let view = new Uint8Array(cur);
    let len = 0;

    // Hands over the whole lines held and carries the rest into the next buffer; grows the buffer when it holds no newline.
    async function cut(): Promise<void> {
      const lastNl = view.lastIndexOf(NL, len - 1);
      if (lastNl === -1) {
        const bigger = new SharedArrayBuffer(cur.byteLength * 2);
        const bv = new Uint8Array(bigger);
        bv.set(view.subarray(0, len));
        release(cur);
        cur = bigger;
        view = bv;
        return;
      }
      const next = await acquire();
      const nv = new Uint8Array(next);
      const rest = len - (lastNl + 1);
      nv.set(view.subarray(lastNl + 1, len));
      await onBlock({ bytes: cur, length: lastNl + 1, last: false });
      cur = next;
      view = nv;
      len = rest;
    }

    if (isFileHandle(input)) {
      for (;;) {
        const { bytesRead } = await input.read(view, len, view.length - len, null);
        if (bytesRead === 0) break;
        len += bytesRead;
        if (len === view.length) await cut();
      }
    } else {
      for await (const c of input as AsyncIterable<Buffer | string>) {
        const chunk = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(view.length - len, chunk.length - off);
          view.set(chunk.subarray(off, off + n), len);
          len += n;
          off += n;
          if (len === view.length) await cut();
        }
      }
    }
    if (len > 0) {
      const lastNl = view.lastIndexOf(NL, len - 1);
      if (lastNl === len - 1) {
        await onBlock({ bytes: cur, length: len, last: false });
        return;
      }
      if (lastNl >= 0) {
        const tail = new SharedArrayBuffer(len - (lastNl + 1));
        new Uint8Array(tail).set(view.subarray(lastNl + 1, len));
        await onBlock({ bytes: cur, length: lastNl + 1, last: false });
        await onBlock({ bytes: tail, length: tail.byteLength, last: true });
        return;
      }
      await onBlock({ bytes: cur, length: len, last: true });
      return;
    }
    release(cur);
  }

  return { read, release, abort };
}
