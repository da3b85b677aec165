/**
 * A node:test reporter that prints what each test file cost, slowest first:
 * the sum of its top-level tests' durations (they run one after another
 * inside the file's process; the process's start-up is not counted), and
 * its test count. `npm test` writes it to test-artifacts/test-file-times.txt
 * beside the spec output, so every full run (CI's too) says where the time
 * goes without timing files one by one.
 *
 * Plain JavaScript: the runner loads reporters before tsx's hooks apply.
 * @param {AsyncIterable<{ type: string, data: { file?: string, nesting?: number, details?: { duration_ms?: number } } }>} source
 */
export default async function* fileTimes(source) {
  /** @type {Map<string, { ms: number, tests: number }>} */
  const files = new Map();
  for await (const e of source) {
    if ((e.type !== 'test:pass' && e.type !== 'test:fail') || e.data.nesting !== 0 || !e.data.file) continue;
    const f = files.get(e.data.file) ?? { ms: 0, tests: 0 };
    f.ms += e.data.details?.duration_ms ?? 0;
    f.tests += 1;
    files.set(e.data.file, f);
  }
  const root = `${process.cwd()}/`;
  const rows = [...files].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, f]) => s + f.ms, 0);
  yield `# seconds  top-level  file (sum ${(total / 1000).toFixed(1)} s over ${rows.length} files)\n`;
  for (const [file, f] of rows) yield `${(f.ms / 1000).toFixed(1).padStart(9)}  ${String(f.tests).padStart(9)}  ${file.startsWith(root) ? file.slice(root.length) : file}\n`;
}
