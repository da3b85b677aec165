/**
 * Proves the ACME test infrastructure (test/helpers/pebble.ts) end to end with
 * plain acme-client, without the project's own ACME code: the DNS server,
 * real pebble, DNS-01 (single name, wildcard + apex), HTTP-01 through a plain
 * HTTP server on pebble's httpPort, and failing challenges.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync } from 'node:fs';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import acme from 'acme-client';
import { TCPClient } from 'dns2';
import { startDns, startPebble, type TestDns, type Pebble } from './helpers/pebble.js';

let dns: TestDns;
let pebble: Pebble;
let challengeServer: http.Server;
let httpPort: number;
/** token -> key authorization served by the HTTP-01 server. */
const httpTokens = new Map<string, string>();
/** Paths the HTTP-01 server was asked for. */
const httpSeen: string[] = [];

function splitPem(chain: string): X509Certificate[] {
  const blocks = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** Leaf covers every name, each cert is signed by the next, the last by pebble's root. */
async function assertIssued(chainPem: string, names: string[]): Promise<void> {
  const chain = splitPem(chainPem);
  assert.ok(chain.length >= 2, `expected leaf + intermediate, got ${chain.length} certificates`);
  const leaf = chain[0]!;
  for (const n of names) {
    // checkHost answers with the SAN that matched (`*.x` for a wildcard), undefined if none.
    const host = n.startsWith('*.') ? `any${n.slice(1)}` : n;
    assert.equal(leaf.checkHost(host), n, `leaf (${leaf.subjectAltName}) does not cover ${host}`);
    assert.ok(leaf.subjectAltName?.includes(`DNS:${n}`), `SAN ${leaf.subjectAltName} lacks ${n}`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    // a.checkIssued(b): was a issued by b?
    assert.ok(chain[i]!.checkIssued(chain[i + 1]!), `chain[${i + 1}] did not issue chain[${i}]`);
    assert.ok(chain[i]!.verify(chain[i + 1]!.publicKey), `chain[${i}] signature`);
  }
  const root = new X509Certificate(await pebble.rootsPem());
  const last = chain[chain.length - 1]!;
  assert.ok(last.checkIssued(root), `pebble root ${root.subject} did not issue ${last.subject}`);
  assert.ok(last.verify(root.publicKey), 'last chain element is not signed by pebble root');
}

function newClient(): Promise<acme.Client> {
  return acme.crypto.createPrivateEcdsaKey().then(
    (accountKey) => new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey, backoffMin: 100, backoffMax: 1000 }),
  );
}

/** dns-01 via the test DNS server: TXT at _acme-challenge.<identifier>. */
function dnsChallengeOpts(seen?: { created: string[]; removed: string[] }) {
  return {
    termsOfServiceAgreed: true,
    challengePriority: ['dns-01'],
    skipChallengeVerification: true,
    challengeCreateFn: async (authz: { identifier: { value: string } }, _c: unknown, keyAuthorization: string) => {
      const name = `_acme-challenge.${authz.identifier.value}`;
      dns.setTxt(name, keyAuthorization);
      seen?.created.push(name);
    },
    challengeRemoveFn: async (authz: { identifier: { value: string } }, _c: unknown, keyAuthorization: string) => {
      const name = `_acme-challenge.${authz.identifier.value}`;
      dns.clearTxt(name, keyAuthorization);
      seen?.removed.push(name);
    },
  };
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    console.log(`${label}: ${Math.round(performance.now() - t0)} ms`);
  }
}

/** Adds pebble's recent output and the DNS queries to a failure. */
async function withDiagnostics<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message += `\n--- pebble output (tail) ---\n${pebble.logs().split('\n').slice(-40).join('\n')}\n--- DNS queries (tail) ---\n${dns.queries.slice(-20).join('\n')}`;
    throw err;
  }
}

before(async () => {
  dns = await startDns();
  challengeServer = http.createServer((req, res) => {
    httpSeen.push(req.url ?? '');
    const m = /^\/\.well-known\/acme-challenge\/([^/?]+)$/.exec(req.url ?? '');
    const body = m ? httpTokens.get(m[1]!) : undefined;
    if (body === undefined) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(body);
  });
  await new Promise<void>((r) => challengeServer.listen(0, '127.0.0.1', () => r()));
  const a = challengeServer.address();
  httpPort = typeof a === 'object' && a ? a.port : 0;

  pebble = await timed('pebble start (certs + process + directory answering)', () =>
    startPebble({ httpPort, dnsPort: dns.port }),
  );
  // acme-client has no per-client agent option: its shared axios instance carries it.
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: pebble.caPem });
  // Network-error/5xx/429 retries (default 5, with 5 s * attempt delays).
  const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } })
    .acmeSettings;
  settings.retryMaxAttempts = 2;
  settings.retryDefaultDelay = 1;
});

after(async () => {
  await pebble?.stop();
  await dns?.stop();
  if (challengeServer) {
    const closed = new Promise<void>((r) => challengeServer.close(() => r()));
    challengeServer.closeAllConnections();
    await closed;
  }
});

test('DNS server: A, AAAA, TXT (case-insensitive, several values), CAA over UDP; TXT over TCP', async () => {
  const r = new dnsPromises.Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${dns.port}`]);
  assert.deepEqual(await r.resolve4('anything.example.test'), ['127.0.0.1']);
  await assert.rejects(r.resolve6('anything.example.test'), { code: 'ENODATA' });
  await assert.rejects(r.resolveCaa('anything.example.test'), { code: 'ENODATA' });
  await assert.rejects(r.resolveTxt('_acme-challenge.probe.example.test'), { code: 'ENODATA' });

  dns.setTxt('_acme-challenge.Probe.Example.Test', 'one');
  dns.setTxt('_acme-challenge.probe.example.test.', 'two');
  dns.setTxt('_acme-challenge.probe.example.test', 'two');
  const txt = (await r.resolveTxt('_ACME-CHALLENGE.probe.example.test')).map((chunks) => chunks.join('')).sort();
  assert.deepEqual(txt, ['one', 'two']);
  // Exact name only: no wildcard or parent matching.
  await assert.rejects(r.resolveTxt('x._acme-challenge.probe.example.test'), { code: 'ENODATA' });

  const tcp = TCPClient({ dns: '127.0.0.1', port: dns.port });
  const resp = await tcp('_acme-challenge.probe.example.test', 'TXT');
  assert.deepEqual(resp.answers.map((a) => ([] as string[]).concat(a.data ?? []).join('')).sort(), ['one', 'two']);

  dns.clearTxt('_acme-challenge.probe.example.test', 'one');
  assert.deepEqual(await r.resolveTxt('_acme-challenge.probe.example.test'), [['two']]);
  dns.clearTxt('_acme-challenge.probe.example.test');
  await assert.rejects(r.resolveTxt('_acme-challenge.probe.example.test'), { code: 'ENODATA' });
});

test('dns-01 order is issued, covers the name and chains to pebble root', async () => {
  const name = 'dns-test.example.test';
  const client = await newClient();
  const [, csr] = await acme.crypto.createCsr({ commonName: name });
  const seen = { created: [] as string[], removed: [] as string[] };
  const cert = await timed('dns-01 order (new account + 1 name)', () =>
    withDiagnostics(() => client.auto({ csr, ...dnsChallengeOpts(seen) })),
  );
  await assertIssued(cert, [name]);
  assert.deepEqual(seen.created, [`_acme-challenge.${name}`]);
  assert.deepEqual(seen.removed, [`_acme-challenge.${name}`]);
  assert.ok(dns.queries.includes(`TXT _acme-challenge.${name}`), 'pebble asked our DNS server for the TXT record');
});

test('http-01 order is validated through 127.0.0.1:httpPort and issued', async () => {
  const name = 'http-test.example.test';
  const client = await newClient();
  const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] });
  const cert = await timed('http-01 order (new account + 1 name)', () =>
    withDiagnostics(() =>
      client.auto({
        csr,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          httpTokens.set(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          httpTokens.delete(challenge.token);
        },
      }),
    ),
  );
  await assertIssued(cert, [name]);
  assert.ok(
    httpSeen.some((p) => p.startsWith('/.well-known/acme-challenge/')),
    `pebble never reached the HTTP-01 server; saw ${JSON.stringify(httpSeen)}`,
  );
  assert.equal(httpTokens.size, 0);
});

test('wildcard + apex via dns-01 (two TXT values at one name at once)', async () => {
  const client = await newClient();
  const [, csr] = await acme.crypto.createCsr({
    commonName: '*.wild.example.test',
    altNames: ['*.wild.example.test', 'wild.example.test'],
  });
  const seen = { created: [] as string[], removed: [] as string[] };
  const cert = await timed('dns-01 wildcard + apex order', () =>
    withDiagnostics(() => client.auto({ csr, ...dnsChallengeOpts(seen) })),
  );
  await assertIssued(cert, ['*.wild.example.test', 'wild.example.test']);
  assert.deepEqual(seen.created, ['_acme-challenge.wild.example.test', '_acme-challenge.wild.example.test']);
});

test('a wrong dns-01 answer fails the order quickly with a clear error', async () => {
  const name = 'bad-dns.example.test';
  const client = await newClient();
  const [, csr] = await acme.crypto.createCsr({ commonName: name });
  const t0 = performance.now();
  await assert.rejects(
    client.auto({
      csr,
      ...dnsChallengeOpts(),
      challengeCreateFn: async (authz) => dns.setTxt(`_acme-challenge.${authz.identifier.value}`, 'not-the-digest'),
      challengeRemoveFn: async (authz) => dns.clearTxt(`_acme-challenge.${authz.identifier.value}`),
    }),
    (e: Error) => {
      assert.match(e.message, /DNS challenge|TXT/i, e.message);
      console.log(`wrong dns-01 answer error: ${e.message}`);
      return true;
    },
  );
  const ms = performance.now() - t0;
  console.log(`wrong dns-01 order failed after ${Math.round(ms)} ms`);
  assert.ok(ms < 10_000, `took ${ms} ms`);
});

test('a wrong http-01 answer fails the order quickly with a clear error', async () => {
  const name = 'bad-http.example.test';
  const client = await newClient();
  const [, csr] = await acme.crypto.createCsr({ commonName: name });
  const t0 = performance.now();
  await assert.rejects(
    client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge) => {
        httpTokens.set(challenge.token, 'wrong-key-authorization');
      },
      challengeRemoveFn: async (_authz, challenge) => {
        httpTokens.delete(challenge.token);
      },
    }),
    (e: Error) => {
      assert.match(e.message, /key authorization|wrong-key-authorization/i, e.message);
      console.log(`wrong http-01 answer error: ${e.message}`);
      return true;
    },
  );
  const ms = performance.now() - t0;
  assert.ok(ms < 10_000, `took ${ms} ms`);
});

test('eab: pebble started with eab requires and accepts external account binding', async () => {
  // The HMAC key is base64url, as in pebble's example config.
  const kid = 'kid-1';
  const hmacKey = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
  const eabPebble = await timed('second pebble start (eab)', () =>
    startPebble({ httpPort, dnsPort: dns.port, eab: { [kid]: hmacKey } }),
  );
  const previousAgent = acme.axios.defaults.httpsAgent;
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: [pebble.caPem, eabPebble.caPem] });
  try {
    const without = new acme.Client({
      directoryUrl: eabPebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
    });
    await assert.rejects(without.createAccount({ termsOfServiceAgreed: true }), /externalAccountBinding/);
    const withEab = new acme.Client({
      directoryUrl: eabPebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      externalAccountBinding: { kid, hmacKey },
    });
    await withEab.createAccount({ termsOfServiceAgreed: true });
    assert.match(withEab.getAccountUrl(), /^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
  } finally {
    acme.axios.defaults.httpsAgent = previousAgent;
    await eabPebble.stop();
  }
  assert.ok(!existsSync(eabPebble.dir), 'stop() removes the temp dir');
});
