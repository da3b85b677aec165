/**
 * The program as the package ships it, for tests that spawn the CLI or the
 * daemon: `tsc` output plus `bin/haproxy-manager`, laid out as in the .deb
 * (bin/, dist/, and templates/, config/, prompts/, package.json beside them),
 * built once per suite run instead of compiling the TypeScript sources
 * through tsx in every child process (1.5 s of start-up each, hundreds of
 * times).
 *
 * Contract:
 * - The build lives in `.tmp/cli-build/<hash>/` of the checkout (git-ignored),
 *   where <hash> covers everything compiled: src/**, tsconfig.json,
 *   package.json and bin/haproxy-manager. Any change to them gives a new
 *   directory, so a stale build is never run; directories of earlier sources are removed after an hour.
 *   The checkout's own dist/ is never written (bin/ prefers dist/ when it
 *   exists, and a stale one would shadow the sources).
 * - templates/, config/, prompts/ and node_modules are symlinks to the
 *   checkout's: they are read at run time, as from the installed package.
 * - Test files running in parallel share one build: the first takes a lock
 *   (an exclusive-create file), builds into a private directory and renames
 *   it into place (atomic); the others wait for the directory. A lock whose
 *   owner process is gone is taken over.
 * - Emission only (`--noCheck`): `npm run typecheck` is what judges types;
 *   a test must not fail on a type error the program does not depend on.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(ROOT, '.tmp', 'cli-build');

/** Every file the build depends on, sorted, as paths relative to the checkout. */
function inputs(): string[] {
  const out: string[] = ['tsconfig.json', 'package.json', 'bin/haproxy-manager'];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk('src');
  return out.sort();
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of inputs()) h.update(f).update('\0').update(readFileSync(join(ROOT, f))).update('\0');
  return h.digest('hex').slice(0, 16);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function build(target: string): void {
  const tmp = `${target}.build-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(join(tmp, 'bin'), { recursive: true });
    // The same compiler and options as `npm run build`, into the private directory.
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(tmp, 'dist'), '--noCheck'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the CLI for the tests failed (tsc exit ${r.status}):\n${r.stdout}${r.stderr}`);
    copyFileSync(join(ROOT, 'bin', 'haproxy-manager'), join(tmp, 'bin', 'haproxy-manager'));
    for (const name of ['package.json', 'templates', 'config', 'prompts', 'node_modules']) symlinkSync(join(ROOT, name), join(tmp, name));
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    // Another process finished the same build first (after taking over a stale lock): use its.
    if (existsSync(join(target, 'dist', 'main.js'))) return;
    throw e;
  }
}

let built: string | undefined;

/**
 * The directory of the shipped layout (`<dir>/bin/haproxy-manager`,
 * `<dir>/dist/main.js`), building it when the sources changed. Synchronous,
 * so it can run at a module's top level.
 */
export function builtPackage(): string {
  if (built) return built;
  mkdirSync(CACHE, { recursive: true });
  const hash = sourceHash();
  const target = join(CACHE, hash);
  const lock = join(CACHE, `${hash}.lock`);
  for (;;) {
    if (existsSync(join(target, 'dist', 'main.js'))) break;
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch {
      // Another test process is building: wait for it, or take over when it died.
      let owner = 0;
      try {
        owner = Number(readFileSync(lock, 'utf8').trim() || '0');
      } catch {
        continue; // released meanwhile
      }
      if (owner && !alive(owner)) rmSync(lock, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      continue;
    }
    try {
      writeSync(fd, String(process.pid));
      closeSync(fd);
      if (!existsSync(join(target, 'dist', 'main.js'))) {
        rmSync(target, { recursive: true, force: true });
        build(target);
        // Builds of earlier sources are of no further use once no run can still be using them.
        for (const e of readdirSync(CACHE)) {
          const p = join(CACHE, e);
          if (!e.startsWith(hash) && Date.now() - statSync(p).mtimeMs > 3600_000) rmSync(p, { recursive: true, force: true });
        }
      }
    } finally {
      rmSync(lock, { force: true });
    }
  }
  built = target;
  return target;
}

/** `bin/haproxy-manager` of the built package (it runs `dist/main.js`, as installed). */
export function builtBin(): string {
  return join(builtPackage(), 'bin', 'haproxy-manager');
}

