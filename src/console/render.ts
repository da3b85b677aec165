/**
 * The console's pages: nunjucks templates under templates/console with
 * autoescape on, so every value a page shows (domain names, user agents,
 * log samples, model summaries: attacker-written text among them) is
 * rendered as text. No template marks anything `safe`; a test greps for it.
 */
import nunjucks from 'nunjucks';
import { fileURLToPath } from 'node:url';

export const CONSOLE_TEMPLATE_DIR = fileURLToPath(new URL('../../templates/console', import.meta.url));

const pad = (n: number) => String(n).padStart(2, '0');

/** "3d 4h", "5m 10s", "12s": the largest two units of a span. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const units: [string, number][] = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = s;
  for (const [u, n] of units) {
    const v = Math.floor(rest / n);
    rest -= v * n;
    if (v > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${v}${u}`);
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(' ') : '0s';
}

export function createRenderer(dir = CONSOLE_TEMPLATE_DIR, opts: { noCache?: boolean } = {}): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: opts.noCache ?? false }), { autoescape: true, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true });
  /** An ISO time as "2026-12-07 10:00:00 UTC"; '' for none. */
  env.addFilter('when', (v: unknown) => {
    if (typeof v !== 'string' && typeof v !== 'number') return '';
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) return String(v);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  });
  /** How long ago an ISO time was: "5m 10s ago". */
  env.addFilter('ago', (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? `${span(Date.now() - Date.parse(v))} ago` : ''));
  /** How long until an ISO time: "in 3d 4h", or "expired". */
  env.addFilter('until', (v: unknown) => {
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) return '';
    const ms = Date.parse(v) - Date.now();
    return ms <= 0 ? 'expired' : `in ${span(ms)}`;
  });
  /** Days left until an ISO time (may be negative), whole days down. */
  env.addFilter('days_left', (v: unknown) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Math.floor((Date.parse(v) - Date.now()) / 86_400_000) : null));
  /** JSON text for a data-* attribute (escaped as an attribute by autoescape, parsed by console.js). */
  env.addFilter('json', (v: unknown) => JSON.stringify(v ?? null));
  env.addFilter('int', (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : ''));
  return env;
}
