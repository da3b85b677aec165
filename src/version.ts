/** The daemon's version, from package.json (one source for --version, the OpenAPI document and logs). */
import { readFileSync } from 'node:fs';

export const DAEMON_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
