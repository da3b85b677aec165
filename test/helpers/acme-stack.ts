/**
 * The ACME stack the certificate tests share: the harness's DNS server,
 * Debian's pebble (its HTTP-01 validations sent to HAProxy's HTTP port) and
 * a daemon whose ACME client trusts pebble's API, with an HTTPS listener.
 * `acme` adds or overrides settings (given the DNS server, for a hook or the
 * self-check's resolver). `stop` ends all three.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startTestDaemon, type TestDaemon } from './harness.js';
import { retryOnPortClash } from './ports.js';
import { startDns, startPebble, type Pebble, type TestDns } from './pebble.js';

export interface AcmeStack {
  t: TestDaemon;
  dns: TestDns;
  pebble: Pebble;
  httpsPort: number;
  stop(): Promise<void>;
}

export async function startAcmeStack(bin: string, acme: (dns: TestDns) => Record<string, unknown> | Promise<Record<string, unknown>> = () => ({})): Promise<AcmeStack> {
  // Pebble must know HAProxy's HTTP port before the daemon starts, so the harness cannot
  // retry a start that lost its ports to another test on its own: the whole stack is retried.
  return retryOnPortClash(() => startAcmeStackOnce(bin, acme));
}

async function startAcmeStackOnce(bin: string, acme: (dns: TestDns) => Record<string, unknown> | Promise<Record<string, unknown>>): Promise<AcmeStack> {
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const dns = await startDns();
  const pebble = await startPebble({ httpPort, dnsPort: dns.port });
  try {
    const caFile = join(pebble.dir, 'api-ca-for-daemon.pem');
    writeFileSync(caFile, pebble.caPem);
    const extra = await acme(dns);
    const t = await startTestDaemon(bin, {
      httpPort,
      config: { haproxy: { https_port: httpsPort }, acme: { directory: pebble.directoryUrl, ca_file: caFile, renew_jitter: '0s', timeout: '20s', ...extra } },
    });
    return {
      t,
      dns,
      pebble,
      httpsPort,
      async stop() {
        await t.stop();
        await pebble.stop();
        await dns.stop();
      },
    };
  } catch (e) {
    await pebble.stop();
    await dns.stop();
    throw e;
  }
}
