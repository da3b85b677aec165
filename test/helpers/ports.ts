/**
 * Ports for servers a test starts itself (HAProxy, pebble, PostgreSQL), which
 * bind them some time after they are chosen.
 *
 * A port the kernel hands out for `listen(0)` comes from the ephemeral range,
 * the same range every outgoing connection of every parallel test takes its
 * local port from; between the choice and HAProxy's bind one of those could
 * take it ("Address already in use", seen in CI). So the port is drawn at
 * random from below the ephemeral range, where nothing is handed out
 * implicitly, and checked free by binding it. Two test processes drawing the
 * same one of some 10,000 ports within that window is the only clash left.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOW = 20000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}
const HIGH = ephemeralLow() - 1;

/** Ports this process handed out: two callers in one process must not get the same one. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    // A machine whose ephemeral range starts low leaves no room below it: fall back to the kernel's choice.
    const port = HIGH - LOW < 1000 || tries > 200 ? await kernelPort() : LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (!(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
}

/**
 * Runs `start` (which chooses its ports with freePort) again, up to
 * `attempts` times in all, when it failed because a port was taken meanwhile.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= attempts || !/Address already in use|EADDRINUSE/.test(String((e as Error).message))) throw e;
    }
  }
}
