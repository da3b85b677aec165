/**
 * POST /api/monitor/explain: `haproxy-manager monitor explain --json` over
 * the API (the console's Explain page): how each pasted line parses (its
 * kind and fields) and which triage rules it matches, with the rules the
 * daemon loads (the shipped ones with the operator's rules directory over
 * them).
 *
 * Contract:
 * - The same code as the CLI: monitor/explain.ts `explainLines` and
 *   `explainRules` (no state is touched: no incident, no
 *   counter, nothing stored). The rules are loaded once per configuration
 *   and kept.
 * - Every line is data: it is parsed, never run. Like every string the API
 *   takes, a line passes the shared text check first (validate/text.ts): a
 *   line holding a control character (a tab among them) or surrounding
 *   whitespace is refused with a 400 naming `lines[n]` (the console trims
 *   what it sends). At most 200 lines of at most 16 KiB each, inside the
 *   API's body limit.
 * - The answer is in input order, one object per line, plus the summary
 *   line the CLI prints. A line that matched a signature rule names the
 *   signature entries it matched (id, family, CVE, product).
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import type { Config } from '../../config/schema.js';
import { mount, route } from '../contract/route.js';
import { explainLines, explainRules, type RulesFn } from '../../monitor/explain.js';

export const MAX_EXPLAIN_LINES = 200;
const MAX_LINE = 16_384;

export const explainBody = z.strictObject({
  lines: z
    .array(z.string({ error: 'must be a log line (a string)' }).max(MAX_LINE, { error: `must be at most ${MAX_LINE} characters` }), { error: `must be a list of 1 to ${MAX_EXPLAIN_LINES} log lines` })
    .min(1, { error: `must be a list of 1 to ${MAX_EXPLAIN_LINES} log lines` })
    .max(MAX_EXPLAIN_LINES, { error: `must be a list of 1 to ${MAX_EXPLAIN_LINES} log lines` })
    .meta({ description: 'The log lines, as the log has them (client-written data: parsed, never run)' }),
  format: z
    .enum(['haproxy', 'json', 'text'], { error: 'must be haproxy, json or text' })
    .optional()
    .meta({ description: 'How the lines are written (default haproxy), as `monitor explain --format`' }),
});

export const explainedLine = z.strictObject({
  ok: z.boolean().meta({ description: 'The line parsed' }),
  kind: z.enum(['http', 'tcp', 'event', 'conn_error', 'app', 'unknown']),
  time: z.iso.datetime({ offset: true }).nullable().meta({ description: "The line's own time" }),
  fields: z.record(z.string(), z.unknown()).meta({ description: 'The parsed fields (client-written values); for an unknown line, the reason' }),
  rules: z.array(z.string()).meta({ description: 'The triage rules whose filter the line matches' }),
  signatures: z
    .array(
      z.strictObject({
        rule: z.string().meta({ description: 'The signature rule (cve-exploits, code-injection, rfi-ssrf, tech-probes, bad-bot-agent, or an operator rule with signatures)' }),
        id: z.string().meta({ description: "The entry's id in its rule file" }),
        family: z.string().meta({ description: 'What kind of attack or probe (path-traversal, rce, cms-probe, ...)' }),
        cve: z.array(z.string()).optional().meta({ description: 'The CVE identifiers of the entry, when it has some' }),
        product: z.string().meta({ description: 'The product or technology the entry is about' }),
      }),
    )
    .meta({ description: 'For each matched rule with signature entries, the entries the line matches (empty when none)' }),
  rules_error: z.string().optional(),
});

export const explainOut = z.strictObject({
  lines: z.array(explainedLine),
  summary: z.string().meta({ description: 'Lines by kind and how many matched a rule (the CLI\'s last line)' }),
  rules: z.number().int().meta({ description: 'How many rules the lines were checked against' }),
});

export const explain = route({
  id: 'explainLines',
  method: 'POST',
  path: '/api/monitor/explain',
  tag: 'monitor',
  summary: 'How log lines parse and which triage rules they match (`monitor explain`); nothing is stored',
  description:
    'Runs the same code as `haproxy-manager monitor explain --json` with the rules the daemon loads. Every line is data. Like every string the API takes, each line passes the shared text check: a control character (a tab included) or leading/trailing whitespace is refused with a 400 naming the line (`lines[n]`). At most 200 lines.',
  auth: 'api_key',
  body: explainBody,
  bodyExample: { lines: ['<134>Dec  1 10:00:00 haproxy[1]: 203.0.113.7:40000 [01/Dec/2026:10:00:00.000] http~ shop/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 "GET /.env HTTP/1.1"'], format: 'haproxy' },
  responses: {
    200: {
      description: 'Each line explained, in input order',
      schema: explainOut,
      example: {
        lines: [
          { ok: true, kind: 'http', time: '2026-12-01T10:00:00.000Z', fields: { client_ip: '203.0.113.7', method: 'GET', path: '/.env', status: 404 }, rules: ['secret-file-probe'], signatures: [] },
          {
            ok: true,
            kind: 'http',
            time: '2026-12-01T10:00:01.000Z',
            fields: { client_ip: '203.0.113.7', method: 'GET', path: '/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh', status: 400 },
            rules: ['cve-exploits'],
            signatures: [{ rule: 'cve-exploits', id: 'apache-path-traversal', family: 'path-traversal', cve: ['CVE-2021-41773', 'CVE-2021-42013'], product: 'Apache HTTP Server 2.4.49 and 2.4.50' }],
          },
        ],
        summary: '2 lines: http 2; 2 matched a rule',
        rules: 24,
      },
    },
    500: { description: 'A rule file does not load (the reason names it)' },
  },
});

/** The daemon's rules as a rules function, built once per configuration object. */
const cache = new WeakMap<Config, { rules: RulesFn; count: number }>();
const rulesFor = (cfg: Config) => cache.get(cfg) ?? cache.set(cfg, explainRules(cfg.monitor.rules_dir)).get(cfg)!;

export function explainRoutes(r: Router, d: ApiDeps): void {
  mount(r, explain, (ctx, { body: { lines, format } }) => {
    const { rules, count } = rulesFor(d.cfg);
    const out = explainLines(lines, format ?? 'haproxy', rules);
    ctx.body = { lines: out.json, summary: out.summary, rules: count };
  });
}
