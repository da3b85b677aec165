/**
 * Seeded values for the labelled log generators (./systems-*.ts): one `Rnd`
 * per corpus, so a corpus is a pure function of its seed. The pools are
 * written for these tests (made-up hosts, users, programs, paths); the
 * helpers draw values in the shapes real logs print them: host:port,
 * IPv4, hex ids with and without 0x, UUIDs, sizes with units (`1.38 KB`),
 * durations (`00:02`, `1.5s`, `120ms`), paths of varying depth.
 */

export class Rnd {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** mulberry32-style: uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let x = this.s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  /** Skewed pick: the first values are much more frequent (a few hot users, hosts, programs). */
  zipf<T>(a: readonly T[], skew = 2.2): T {
    return a[Math.min(a.length - 1, Math.floor(a.length * this.next() ** skew))]!;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(0, 15)];
    return s;
  }
  HEX(n: number): string {
    return this.hex(n).toUpperCase();
  }
  /** A number of `n` digits, no leading zero. */
  digits(n: number): string {
    let s = String(this.int(1, 9));
    for (let i = 1; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
  /** A number whose size varies over orders of magnitude (byte counts, offsets). */
  wide(maxDigits = 7): number {
    return Math.floor(10 ** (this.next() * maxDigits));
  }
  fixed(lo: number, hi: number, d: number): string {
    return (lo + this.next() * (hi - lo)).toFixed(d);
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }
  ip(): string {
    return `${this.int(1, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
  /** An address inside one of a few private networks (cluster nodes). */
  lan(): string {
    return `${this.pick(['10.20', '10.31', '172.16', '192.168'])}.${this.int(0, 40)}.${this.int(2, 250)}`;
  }
  port(): number {
    return this.chance(0.5) ? this.int(1024, 65535) : this.pick([80, 443, 8080, 22, 50010, 2181, 3888, 5432, 6379]);
  }
  mac(): string {
    return Array.from({ length: 6 }, () => this.hex(2)).join(':');
  }
  /** A domain name of 2 to 4 labels, with and without digits. */
  domain(): string {
    const first = this.pick(['www', 'api', 'mail', 'cdn', 'static', 'login', 'img', 'update', 'ws', 'edge', 'files', 'sync']);
    const mid = this.pick(['example', 'contoso', 'acme-corp', 'northwind', 'fabrikam', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay']);
    const tld = this.pick(['com', 'net', 'org', 'io', 'co.uk', 'de', 'cn']);
    const r = this.next();
    if (r < 0.25) return `${mid}.${tld}`;
    if (r < 0.45) return `${first}${this.int(1, 20)}.${mid}.${tld}`;
    if (r < 0.6) return `${first}.${this.pick(['eu', 'us-east', 'ap'])}.${mid}.${tld}`;
    return `${first}.${mid}.${tld}`;
  }
  /** A host: a domain, a bare address, or a short node name. */
  host(): string {
    const r = this.next();
    if (r < 0.5) return this.domain();
    if (r < 0.75) return this.ip();
    return `${this.pick(['node', 'web', 'db', 'cn', 'compute', 'worker', 'srv'])}${this.pick(['-', ''])}${this.int(1, 999)}`;
  }
  user(): string {
    return this.zipf(USERS);
  }
  word(): string {
    return this.pick(WORDS);
  }
  /** A Unix path of 2 to 6 segments, perhaps ending in a file. */
  path(root = ''): string {
    const n = this.int(1, 5);
    let p = root;
    for (let i = 0; i < n; i++) p += '/' + (this.chance(0.15) ? `${this.word()}${this.int(1, 99)}` : this.word());
    if (this.chance(0.5)) p += '/' + this.word() + this.pick(['.log', '.conf', '.dat', '.tmp', '.jar', '.so', '.json', '']);
    return p;
  }
  /** A Windows path. */
  winPath(): string {
    const n = this.int(1, 4);
    let p = this.pick(['C:\\Windows', 'C:\\Windows\\System32', 'C:\\ProgramData', 'C:\\Windows\\WinSxS', 'D:\\Data']);
    for (let i = 0; i < n; i++) p += '\\' + this.pick(WIN_SEGMENTS);
    return p + (this.chance(0.6) ? '\\' + this.pick(['setup', 'engine', 'wcp', 'pending', 'store']) + this.pick(['.dll', '.xml', '.mum', '.cat', '.log']) : '');
  }
  /** A byte count as proxies and transfer tools print it: `1420 bytes (1.38 KB)`, `87 bytes`. */
  bytesWithSize(): string {
    const n = this.wide(8);
    return n < 1024 ? `${n} bytes` : `${n} bytes (${human(n)})`;
  }
  human(n: number): string {
    return human(n);
  }
  /** A connection lifetime: `<1 sec`, `00:02`, `01:12`, `1:05:44`. */
  lifetime(): string {
    const r = this.next();
    if (r < 0.3) return '<1 sec';
    if (r < 0.9) return `${pad(this.int(0, 5))}:${pad(this.int(0, 59))}`;
    return `${this.int(1, 9)}:${pad(this.int(0, 59))}:${pad(this.int(0, 59))}`;
  }
  /** A duration with a unit glued or apart: `1.5s`, `120ms`, `3.204 s`, `0.75 seconds`. */
  duration(): string {
    return this.pick([`${this.int(1, 999)}ms`, `${this.fixed(0, 30, 1)}s`, `${this.fixed(0, 9, 3)} s`, `${this.int(1, 5000)} ms`, `${this.fixed(0, 90, 2)} seconds`]);
  }
  /** A time of day, as syslog prints it. */
  clock(): string {
    return `${pad(this.int(0, 23))}:${pad(this.int(0, 59))}:${pad(this.int(0, 59))}`;
  }
  date(): string {
    return `2023-${pad(this.int(1, 12))}-${pad(this.int(1, 28))}`;
  }
  version(): string {
    return `${this.int(1, 12)}.${this.int(0, 9)}.${this.int(0, 30)}`;
  }
}

export function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function human(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)} ${units[u]}`;
}

export const USERS = [
  'root', 'admin', 'alice', 'bob', 'guest', 'test', 'oracle', 'postgres', 'nagios', 'webmaster', 'deploy', 'ubuntu',
  'carol', 'dave', 'mallory', 'trent', 'backup', 'www-data', 'ftpuser', 'operator', 'support', 'jenkins', 'git', 'pi',
  'ansible', 'mysql', 'user', 'sysadm', 'mike', 'linda', 'chen', 'priya', 'olga', 'yusuf', 'fatima', 'jose',
];

export const WORDS = [
  'data', 'var', 'opt', 'srv', 'lib', 'cache', 'logs', 'tmp', 'home', 'share', 'local', 'conf', 'images', 'static',
  'backup', 'spool', 'run', 'archive', 'reports', 'queue', 'index', 'assets', 'media', 'uploads', 'db', 'mail',
  'current', 'blocks', 'meta', 'journal', 'export', 'staging', 'build', 'release', 'plugins', 'vendor', 'public',
];

const WIN_SEGMENTS = ['Servicing', 'Packages', 'Logs', 'CBS', 'Temp', 'SoftwareDistribution', 'Download', 'Catroot2', 'Manifests', 'Backup', 'inf', 'drivers', 'en-US', 'amd64'];

/** One event of a generated system: its ground-truth id, its relative frequency, and how to write one line of it. */
export interface EventDef {
  id: string;
  weight: number;
  gen: (r: Rnd) => string;
}

export interface SystemDef {
  /** Short name of the kind of system (`proxy`, `cbs-servicing`...). */
  system: string;
  /** What kind of system it imitates, in a few words. */
  kind: string;
  events: EventDef[];
}

export function ev(id: string, weight: number, gen: (r: Rnd) => string): EventDef {
  return { id, weight, gen };
}

export interface LabelledCorpus {
  system: string;
  messages: string[];
  /** Ground-truth event id of each message. */
  truth: string[];
}

/**
 * `lines` messages of one system drawn with `seed`: events by weight (every
 * event appears at least once, so rare ones are in), values fresh on every
 * line.
 */
export function generate(def: SystemDef, seed: number, lines = 2000): LabelledCorpus {
  const r = new Rnd(seed ^ hashName(def.system));
  const total = def.events.reduce((s, e) => s + e.weight, 0);
  const order: number[] = [];
  // Every event once, at a random place; the rest by weight.
  for (let i = 0; i < def.events.length; i++) order.push(i);
  while (order.length < lines) {
    let x = r.next() * total;
    let k = 0;
    while (k < def.events.length - 1 && x >= def.events[k]!.weight) x -= def.events[k++]!.weight;
    order.push(k);
  }
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const out: LabelledCorpus = { system: def.system, messages: [], truth: [] };
  for (const k of order) {
    const e = def.events[k]!;
    out.messages.push(e.gen(r));
    out.truth.push(e.id);
  }
  return out;
}

function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
