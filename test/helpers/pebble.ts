/**
 * ACME test infrastructure: Debian's real `pebble` ACME server plus a tiny
 * authoritative DNS server (dns2) that pebble uses for every lookup.
 *
 * Everything listens on 127.0.0.1 only.
 *
 *   const dns = await startDns();
 *   const pebble = await startPebble({ httpPort, dnsPort: dns.port });
 *   // acme-client: acme.axios.defaults.httpsAgent = new https.Agent({ ca: pebble.caPem })
 *   //              new acme.Client({ directoryUrl: pebble.directoryUrl, ... })
 *   ...
 *   await pebble.stop(); await dns.stop();
 *
 * The DNS server answers A with 127.0.0.1 for every name (so HTTP-01 goes to
 * 127.0.0.1:httpPort, i.e. the HAProxy under test), AAAA and CAA with an empty
 * NOERROR answer, TXT with whatever setTxt() stored for that exact name.
 *
 * This file deliberately does not import ./harness.ts (which imports the
 * daemon and requires HAProxy to be installed).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import https from 'node:https';
import { Packet, UDPServer, TCPServer } from 'dns2';
import { freePort } from './ports.js';

const execFileP = promisify(execFile);

export const PEBBLE_BIN = process.env.PEBBLE_BIN ?? '/usr/bin/pebble';

// ---------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------

export interface TestDns {
  /** UDP and TCP port on 127.0.0.1 (the same number for both). */
  port: number;
  /** Adds a TXT value for `name` (exact name, case-insensitive, trailing dot ignored). Several values per name are allowed; adding the same value twice keeps one. */
  setTxt(name: string, value: string): void;
  /** Removes every TXT value of `name`, or only `value` when given (use that when several challenges for one name run at once, e.g. `x` and `*.x`). */
  clearTxt(name: string, value?: string): void;
  /** Answers A queries for `name` with `address` instead of 127.0.0.1 (a name that does not point at the host under test). */
  setA(name: string, address: string): void;
  /** The last queries received (newest last, at most 500), for failure messages: `TXT _acme-challenge.x.test`. */
  queries: string[];
  stop(): Promise<void>;
}

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Packet.TYPE).map(([k, v]) => [v as number, k]),
);

function normName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

/** A DNS server on 127.0.0.1 (UDP and TCP on one free port). */
export async function startDns(): Promise<TestDns> {
  const txt = new Map<string, string[]>();
  const aOverride = new Map<string, string>();
  const queries: string[] = [];

  const handle = (request: Packet, send: (response: Packet) => Promise<Buffer>): void => {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const q = request.questions[0];
    if (!q) {
      response.header.rcode = 1; // FORMERR
    } else {
      const name = normName(q.name);
      queries.push(`${TYPE_NAMES[q.type] ?? q.type} ${name}`);
      if (queries.length > 500) queries.shift();
      if (q.type === Packet.TYPE.A) {
        response.answers.push(
          Packet.createResourceFromQuestion(q, { type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 0, address: aOverride.get(name) ?? '127.0.0.1' }),
        );
      } else if (q.type === Packet.TYPE.TXT) {
        for (const value of txt.get(name) ?? []) {
          response.answers.push(
            Packet.createResourceFromQuestion(q, { type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 0, data: value }),
          );
        }
      }
      // AAAA, CAA and everything else: NOERROR with no records.
    }
    send(response).catch(() => {
      /* client went away */
    });
  };

  // One port for both transports: let the OS pick a UDP port, then take the
  // same number for TCP; retry on the (rare) clash.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = new UDPServer({ type: 'udp4' });
    const tcp = new TCPServer();
    udp.on('request', handle);
    tcp.on('request', handle);
    udp.on('requestError', () => {});
    tcp.on('requestError', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, '127.0.0.1', () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      udp.on('error', () => {});
      tcp.on('error', () => {});
      let stopped: Promise<void> | undefined;
      return {
        port,
        queries,
        setA(name, address) {
          aOverride.set(normName(name), address);
        },
        setTxt(name, value) {
          const key = normName(name);
          const values = txt.get(key) ?? [];
          if (!values.includes(value)) values.push(value);
          txt.set(key, values);
        },
        clearTxt(name, value) {
          const key = normName(name);
          if (value === undefined) {
            txt.delete(key);
            return;
          }
          const values = (txt.get(key) ?? []).filter((v) => v !== value);
          if (values.length) txt.set(key, values);
          else txt.delete(key);
        },
        stop() {
          stopped ??= Promise.all([
            new Promise<void>((r) => udp.close(() => r())),
            new Promise<void>((r) => {
              tcp.close(() => r());
            }),
          ]).then(() => undefined);
          return stopped;
        },
      };
    } catch (e) {
      lastErr = e;
      try {
        udp.close();
      } catch {
        /* not bound */
      }
      try {
        tcp.close();
      } catch {
        /* not listening */
      }
    }
  }
  throw new Error(`startDns: could not bind UDP and TCP on one port: ${String(lastErr)}`);
}

// ---------------------------------------------------------------------------
// Pebble
// ---------------------------------------------------------------------------

export interface Pebble {
  /** `https://127.0.0.1:<port>/dir` */
  directoryUrl: string;
  /** PEM of the CA that signed pebble's API (and management) certificate: give it to the HTTPS client. */
  caPem: string;
  /** Pebble's issuing root (`/roots/0` on the management port). It changes on every pebble start. */
  rootsPem(): Promise<string>;
  /** `https://127.0.0.1:<port>` (pebble's management interface, same TLS cert as the API). */
  managementUrl: string;
  /** The last lines pebble wrote to stdout/stderr (at most 300), for failure messages. */
  logs(): string;
  /** New orders pebble was asked for since it started (every one, however long the log grew). */
  orders(): number;
  /** New accounts pebble registered since it started (POST /sign-me-up). */
  accounts(): number;
  /** Kills pebble and removes `dir`. Idempotent. */
  stop(): Promise<void>;
  /** Temp dir holding config, API cert/key and CA. */
  dir: string;
}

export interface PebbleOptions {
  /** Port pebble connects to (on 127.0.0.1, via the DNS server's A answer) for HTTP-01 validation. */
  httpPort: number;
  /** Port of startDns() (pebble gets `-dnsserver 127.0.0.1:<dnsPort>`). */
  dnsPort: number;
  /** Port for TLS-ALPN-01 validation; a free port when not given. */
  tlsPort?: number;
  /** External account binding: kid -> base64url HMAC key. Makes EAB required. */
  eab?: Record<string, string>;
  /** Extra environment for pebble (overrides the defaults below). */
  env?: Record<string, string>;
}

/** Defaults for pebble's environment: fast, deterministic. Override with opts.env. */
export const PEBBLE_DEFAULT_ENV: Record<string, string> = {
  // No random 0-15 s sleep before each validation.
  PEBBLE_VA_NOSLEEP: '1',
  // Pebble rejects 5% of good nonces by default; acme-client retries badNonce, but keep tests deterministic.
  PEBBLE_WFE_NONCEREJECT: '0',
  // Pebble reuses valid authorizations 50% of the time by default; then no challenge is asked for.
  PEBBLE_AUTHZREUSE: '0',
};

/** GET over HTTPS trusting only `ca`. */
export function httpsGet(url: string, ca: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: GET ${url}`)));
    req.on('error', reject);
  });
}

const OPENSSL_CNF = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** A small CA and a localhost/127.0.0.1 server certificate for pebble's own HTTPS API. */
async function makeApiCerts(dir: string): Promise<{ caPem: string; certFile: string; keyFile: string }> {
  const cnf = join(dir, 'openssl.cnf');
  writeFileSync(cnf, OPENSSL_CNF);
  const f = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]) => execFileP('openssl', args, { cwd: dir });
  await run(['req', '-config', cnf, '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30',
    '-subj', '/CN=haproxy-manager test pebble API CA', '-extensions', 'ca_ext']);
  await run(['req', '-config', cnf, '-new', ...ec, '-keyout', f('key.pem'), '-out', f('cert.csr'), '-subj', '/CN=localhost']);
  await run(['x509', '-req', '-in', f('cert.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial',
    `0x${Date.now().toString(16)}`, '-days', '30', '-extfile', cnf, '-extensions', 'leaf_ext', '-out', f('cert.pem')]);
  return { caPem: readFileSync(f('ca.pem'), 'utf8'), certFile: f('cert.pem'), keyFile: f('key.pem') };
}

/** Pebble processes not yet stopped: killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Starts pebble in a fresh temp dir on free 127.0.0.1 ports and waits until
 * its directory answers over HTTPS. Throws (with pebble's output) if it exits
 * or does not answer within 15 s.
 */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-pebble-'));
  try {
    const { caPem, certFile, keyFile } = await makeApiCerts(dir);
    const tlsPort = opts.tlsPort ?? (await freePort());
    let lastErr: unknown;
    // Ports come from freePort(): another process may grab one before pebble
    // binds it; pebble then exits and we try again with new ports.
    for (let attempt = 0; attempt < 3; attempt++) {
      const listenPort = await freePort();
      let mgmtPort = await freePort();
      while (mgmtPort === listenPort) mgmtPort = await freePort();
      const config = {
        pebble: {
          listenAddress: `127.0.0.1:${listenPort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: certFile,
          privateKey: keyFile,
          httpPort: opts.httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: opts.eab !== undefined,
          ...(opts.eab ? { externalAccountMACKeys: opts.eab } : {}),
        },
      };
      const configFile = join(dir, 'pebble-config.json');
      writeFileSync(configFile, JSON.stringify(config, null, 2));
      try {
        return await launch({ dir, caPem, configFile, listenPort, mgmtPort, opts });
      } catch (e) {
        lastErr = e;
        if (!/address already in use/i.test(String(e))) break;
      }
    }
    throw lastErr;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function launch(a: {
  dir: string;
  caPem: string;
  configFile: string;
  listenPort: number;
  mgmtPort: number;
  opts: PebbleOptions;
}): Promise<Pebble> {
  const { dir, caPem, configFile, listenPort, mgmtPort, opts } = a;
  const lines: string[] = [];
  // Counted as lines arrive: the kept log is only the last 300 lines.
  let newOrders = 0;
  let newAccounts = 0;
  const capture = (prefix: string) => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(prefix + l);
        if (lines.length > 300) lines.shift();
        if (l.includes('POST /order-plz')) newOrders++;
        if (l.includes('POST /sign-me-up')) newAccounts++;
      }
    };
  };
  const logs = () => lines.join('\n');

  const child = spawn(PEBBLE_BIN, ['-config', configFile, '-dnsserver', `127.0.0.1:${opts.dnsPort}`], {
    cwd: dir,
    env: { ...process.env, ...PEBBLE_DEFAULT_ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout!.on('data', capture(''));
  child.stderr!.on('data', capture('[stderr] '));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve();
    });
    child.once('error', (e) => {
      spawnError = e;
      live.delete(child);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited && !spawnError) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exitPromise;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const directoryUrl = `https://127.0.0.1:${listenPort}/dir`;
  const managementUrl = `https://127.0.0.1:${mgmtPort}`;
  const deadline = Date.now() + 15_000;
  let lastErr = '';
  for (;;) {
    if (spawnError) throw new Error(`pebble could not be started (${PEBBLE_BIN}): ${spawnError.message}`);
    if (exited) {
      throw new Error(`pebble exited (code ${exited.code}, signal ${exited.signal}) before answering; output:\n${logs()}`);
    }
    try {
      const r = await httpsGet(directoryUrl, caPem, 1000);
      if (r.status === 200 && r.body.includes('newAccount')) break;
      lastErr = `HTTP ${r.status}: ${r.body.slice(0, 200)}`;
    } catch (e) {
      lastErr = String(e);
    }
    if (Date.now() > deadline) {
      // Read `exited` again after the stop: pebble may have just died.
      const out = logs();
      await stop().catch(() => {});
      throw new Error(`pebble did not answer ${directoryUrl} within 15 s (last: ${lastErr}); output:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // The management listener starts alongside; make sure it answers too.
  for (;;) {
    try {
      const r = await httpsGet(`${managementUrl}/roots/0`, caPem, 1000);
      if (r.status === 200) break;
      lastErr = `HTTP ${r.status}`;
    } catch (e) {
      lastErr = String(e);
    }
    if (exited || Date.now() > deadline) {
      const out = logs();
      await stop().catch(() => {});
      throw new Error(`pebble management interface ${managementUrl} did not answer (last: ${lastErr}); output:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    directoryUrl,
    caPem,
    managementUrl,
    dir,
    logs,
    orders: () => newOrders,
    accounts: () => newAccounts,
    stop,
    async rootsPem() {
      const r = await httpsGet(`${managementUrl}/roots/0`, caPem);
      if (r.status !== 200) throw new Error(`GET ${managementUrl}/roots/0: HTTP ${r.status}: ${r.body}`);
      return r.body;
    },
  };
}
