/**
 * Writes the manual page to the path given (`npm run man -- <path>`, or
 * `node --import tsx scripts/man.ts <path>`): the roff `haproxy-manager man`
 * prints, generated from the help texts, for packaging under
 * /usr/share/man/man1. Runs the real CLI (bin/haproxy-manager: dist/ when
 * built, else the sources), so the page is the installed program's own.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: scripts/man.ts <output file, e.g. haproxy-manager.1>\n');
  process.exit(2);
}
const bin = fileURLToPath(new URL('../bin/haproxy-manager', import.meta.url));
const env = { ...process.env };
delete env.HAPROXY_MANAGER_CONFIG;
const page = execFileSync(process.execPath, [bin, 'man'], { encoding: 'utf8', env });
mkdirSync(dirname(resolve(out)), { recursive: true });
writeFileSync(out, page);
process.stdout.write(`wrote ${out}\n`);
