/**
 * systemd's notification protocol (sd_notify): READY=1 once the daemon
 * serves, WATCHDOG=1 at half of WATCHDOG_USEC while its event loop runs,
 * STOPPING=1 on the way out, STATUS= lines for `systemctl status`.
 *
 * Contract: without NOTIFY_SOCKET (not under systemd, Type=simple) nothing
 * happens at all. A send that fails is reported to `onError` and never
 * throws. Node has no unix datagram sockets, hence the small `unix-dgram`
 * addon; an abstract socket name ("@...") is passed with its leading NUL.
 */
import { createRequire } from 'node:module';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(): void;
}

const require = createRequire(import.meta.url);

export interface SdNotify {
  /** True when running under systemd with Type=notify. */
  readonly enabled: boolean;
  ready(status?: string): void;
  status(text: string): void;
  stopping(): void;
  /** A reload began (SIGHUP): systemd shows "reloading" until the next READY=1. */
  reloading(): void;
  /** Starts petting the watchdog when WATCHDOG_USEC is set (for this process); returns the interval or null. `alive` may veto a pet. */
  startWatchdog(alive?: () => boolean): number | null;
  close(): void;
}

export function createSdNotify(env: NodeJS.ProcessEnv = process.env, onError: (e: Error) => void = () => {}): SdNotify {
  const raw = env.NOTIFY_SOCKET;
  let timer: NodeJS.Timeout | null = null;
  if (!raw) {
    return { enabled: false, ready() {}, status() {}, stopping() {}, reloading() {}, startWatchdog: () => null, close() {} };
  }
  const path = raw.startsWith('@') ? `\0${raw.slice(1)}` : raw;
  const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
  const sock = unix.createSocket('unix_dgram');
  sock.on('error', (e) => onError(e));
  const send = (msg: string) => {
    const buf = Buffer.from(msg);
    try {
      sock.send(buf, 0, buf.length, path, (err) => {
        if (err) onError(err);
      });
    } catch (e) {
      onError(e as Error);
    }
  };
  return {
    enabled: true,
    ready: (status) => send(`READY=1\nMAINPID=${process.pid}${status ? `\nSTATUS=${status.replace(/\n/g, ' ')}` : ''}`),
    status: (text) => send(`STATUS=${text.replace(/\n/g, ' ')}`),
    stopping: () => send('STOPPING=1'),
    // MONOTONIC_USEC lets systemd (253+) tie the READY=1 that follows to this reload.
    reloading: () => send(`RELOADING=1\nMONOTONIC_USEC=${(process.hrtime.bigint() / 1000n).toString()}`),
    startWatchdog(alive) {
      const usec = Number(env.WATCHDOG_USEC);
      const pid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
      if (!Number.isFinite(usec) || usec <= 0 || pid !== process.pid) return null;
      const every = Math.max(50, Math.floor(usec / 2000));
      const pet = () => {
        if (!alive || alive()) send('WATCHDOG=1');
      };
      pet();
      timer = setInterval(pet, every);
      timer.unref();
      return every;
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
      try {
        sock.close();
      } catch {
        /* closed already */
      }
    },
  };
}
