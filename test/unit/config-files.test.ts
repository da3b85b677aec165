/** The shipped config files parse under the strict schema (a key renamed in the schema but not in them fails here). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load.js';

for (const name of ['haproxy-manager.example.yaml', 'local.yaml']) {
  test(`config/${name} is a valid configuration`, () => {
    const file = fileURLToPath(new URL(`../../config/${name}`, import.meta.url));
    const cfg = parseConfig(readFileSync(file, 'utf8'), file, { env: {} });
    assert.equal(cfg.analysis.enabled, false, 'nothing leaves the host by default');
    assert.equal(cfg.source, file);
  });
}
