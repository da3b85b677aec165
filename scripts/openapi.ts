/**
 * Writes the OpenAPI document the code describes to src/api/openapi.json (the
 * copy shipped in the repository). `--check`: exits 1 when the shipped copy
 * differs, without writing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '../src/api/app.js';
import { openApiDocument } from '../src/api/contract/openapi.js';
import { DAEMON_VERSION } from '../src/version.js';

const file = fileURLToPath(new URL('../src/api/openapi.json', import.meta.url));
const text = JSON.stringify(openApiDocument(DAEMON_VERSION), null, 2) + '\n';
if (process.argv.includes('--check')) {
  let cur = '';
  try {
    cur = readFileSync(file, 'utf8');
  } catch {
    /* absent: differs */
  }
  if (cur !== text) {
    process.stderr.write(`${file} is out of date: run npm run openapi\n`);
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  const doc = JSON.parse(text) as { paths: Record<string, Record<string, unknown>> };
  const ops = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0);
  process.stdout.write(`${file}: ${Object.keys(doc.paths).length} paths, ${ops} operations\n`);
}
