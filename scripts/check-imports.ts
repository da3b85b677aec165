/**
 * Import cycles between folders under src/ (issue 9): exits 1 and prints each
 * cycle as a chain of folders, with one example import for each edge; exits 0
 * when there is none.
 *
 *   node --import tsx scripts/check-imports.ts [repository root, this one by default]
 *
 * A node is a folder: the first directory level under src/ (`storage`,
 * `api`, ...), and under src/pipeline/ and src/haproxy/ the second
 * (`pipeline/triage`, `haproxy/runtime`; files directly in src/pipeline/ are
 * `pipeline`). A file directly in src/
 * (`daemon.ts`, `main.ts`, ...) is its own node. Every relative module
 * specifier counts, values and types alike: `import`, `import type`,
 * `export … from`, `import()`. Specifiers are read by the TypeScript compiler
 * (each parsed file's `imports`, through scripts/ts-sources.ts) and
 * resolved as NodeNext does: `x.js` is `x.ts` (a bare folder, which NodeNext
 * refuses, would count as its `index.ts`).
 *
 * Which cycles are reported: for every edge inside a strongly connected set of
 * folders, the shortest cycle through it (so every edge that takes part in a
 * cycle appears in at least one), each written once, starting at its
 * alphabetically first folder.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachSourceFile, lineAt } from './ts-sources.js';

/** One import that makes an edge: `file` (relative to the repository) line `line` imports `specifier`. */
export interface ImportSite {
  file: string;
  line: number;
  specifier: string;
}

export interface Cycle {
  /** Folders in order; the last imports the first. */
  folders: string[];
  /** examples[i]: an import from folders[i] into folders[i + 1] (the last: into folders[0]). */
  examples: ImportSite[];
}

/** Folders whose sub-folders are nodes of their own: the pipeline's stages, HAProxy's parts. */
const SPLIT = new Set(['pipeline', 'haproxy']);

/** The folder node of a file under src/ (path relative to src/, `/`-separated). */
export function folderOf(srcRelative: string): string {
  const parts = srcRelative.split('/');
  if (parts.length === 1) return parts[0]!;
  if (SPLIT.has(parts[0]!) && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0]!;
}

/** The .ts file a relative specifier names, or null when it is not one of ours. */
function resolveSpecifier(fromFile: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

/** Folder edges of the code under `<root>/src`, each with its first import (by file name, then line). */
export function folderEdges(root: string): Map<string, Map<string, ImportSite>> {
  const src = join(root, 'src');
  const edges = new Map<string, Map<string, ImportSite>>();
  forEachSourceFile(root, (file, sf) => {
    const from = folderOf(relative(src, file).split(sep).join('/'));
    for (const node of sf.imports) {
      const spec = (node as unknown as { text: string }).text;
      const target = resolveSpecifier(file, spec);
      if (!target || !target.startsWith(src + sep)) continue;
      const to = folderOf(relative(src, target).split(sep).join('/'));
      if (to === from) continue;
      const out = edges.get(from) ?? new Map<string, ImportSite>();
      edges.set(from, out);
      if (!out.has(to)) out.set(to, { file: relative(root, file).split(sep).join('/'), line: lineAt(sf, node.end), specifier: spec });
    }
  });
  return edges;
}

/** Shortest path from `from` to `to` (breadth first, neighbours in name order), or null. */
function shortestPath(edges: Map<string, Map<string, ImportSite>>, from: string, to: string): string[] | null {
  const prev = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const n = queue.shift()!;
    if (n === to) {
      const path = [n];
      for (let p = prev.get(n); p != null; p = prev.get(p)) path.unshift(p);
      return path;
    }
    for (const m of [...(edges.get(n)?.keys() ?? [])].sort()) {
      if (!prev.has(m)) {
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  return null;
}

/** The cycles among folder edges (see the file comment for which ones). */
export function cyclesOf(edges: Map<string, Map<string, ImportSite>>): Cycle[] {
  const seen = new Map<string, Cycle>();
  for (const [a, outs] of [...edges].sort(([x], [y]) => x.localeCompare(y))) {
    for (const b of [...outs.keys()].sort()) {
      const back = shortestPath(edges, b, a);
      if (!back) continue;
      // a -> b -> ... -> a, without repeating a at the end.
      const loop = [a, ...back.slice(0, -1)];
      const start = loop.indexOf([...loop].sort()[0]!);
      const folders = [...loop.slice(start), ...loop.slice(0, start)];
      const key = folders.join(' -> ');
      if (seen.has(key)) continue;
      const examples = folders.map((f, i) => edges.get(f)!.get(folders[(i + 1) % folders.length]!)!);
      seen.set(key, { folders, examples });
    }
  }
  return [...seen.values()].sort((x, y) => x.folders.join().localeCompare(y.folders.join()));
}

/** The cycles of the code under `<root>/src`. */
export function findFolderCycles(root: string): Cycle[] {
  return cyclesOf(folderEdges(root));
}

/** A cycle as one line: `a -> b -> a`. */
export const chainOf = (c: Cycle): string => [...c.folders, c.folders[0]].join(' -> ');

export function formatCycle(c: Cycle): string {
  const lines = c.folders.map((f, i) => {
    const e = c.examples[i]!;
    return `  ${f} -> ${c.folders[(i + 1) % c.folders.length]}: ${e.file}:${e.line} imports '${e.specifier}'`;
  });
  return `${chainOf(c)}\n${lines.join('\n')}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..'));
  const cycles = findFolderCycles(root);
  for (const c of cycles) process.stdout.write(`${formatCycle(c)}\n\n`);
  process.stdout.write(cycles.length ? `${cycles.length} import cycle(s) between folders under src/\n` : 'no import cycles between folders under src/\n');
  process.exitCode = cycles.length ? 1 : 0;
}
