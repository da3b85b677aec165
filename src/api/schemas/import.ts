/**
 * POST /api/import: a haproxy.cfg's text (and the map and list files it
 * names) in, the domains it plans and what it could not express out.
 */
import { z } from 'zod';
import { bool } from './fields.js';
import { ok } from './common.js';

/** 512 KiB of text per file: a large hand-written haproxy.cfg is a few dozen. */
export const MAX_DOCUMENT = 524_288;
const MAX_MAPS = 1000;

const document = (what: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : "must be a string (the file's text)") })
    .max(MAX_DOCUMENT, { error: `must be at most ${MAX_DOCUMENT} characters` })
    .meta({ description: what });

/** A path as written in the configuration: letters, digits and ._/+-@ only. */
const mapPath = /^[A-Za-z0-9._/+@-]{1,255}$/;

export const importBody = z.strictObject({
  config: document('The haproxy.cfg text, as the file holds it (lines end in LF or CRLF; tabs allowed; no NUL or other control character)').refine((s) => s.length > 0, { error: 'must not be empty' }),
  file_name: z
    .string({ error: 'must be a file name' })
    .regex(/^[A-Za-z0-9._+-]{1,100}$/, { error: 'must be a file name of 1 to 100 letters, digits and ._+- (no directory)' })
    .optional()
    .meta({ description: 'The name the report gives the file (default "haproxy.cfg")' }),
  maps: z
    .record(z.string(), document('The file\'s text'), { error: 'must be an object of path: text' })
    .superRefine((m, ctx) => {
      if (Object.keys(m).length > MAX_MAPS) ctx.addIssue({ code: 'custom', message: `must hold at most ${MAX_MAPS} files` });
      const bad = Object.keys(m).find((k) => !mapPath.test(k));
      if (bad !== undefined) ctx.addIssue({ code: 'custom', path: [bad], message: 'must be a path as written in the configuration (letters, digits and ._/+@- only)' });
    })
    .optional()
    .meta({ description: 'The map, list and page files the configuration names (`-f`, map_str(...), `http-error ... file`), by the path exactly as written there' }),
  apply: bool('Create the planned domains and TCP services (default false: a dry run that changes nothing)').optional(),
});

export const importBodyExample = {
  config: 'frontend web\n  bind :80\n  acl is_app hdr(host) -i app.example.com\n  use_backend app if is_app\n\nbackend app\n  server s1 10.0.0.11:8080 check\n',
  apply: false,
};

const skippedOut = z.strictObject({
  file: z.string(),
  line: z.number().int(),
  text: z.string(),
  reason: z.string(),
});

export const importOut = ok({
  applied: z.boolean().meta({ description: 'The domains were created (apply: true and something to create)' }),
  reloaded: z.boolean(),
  domains: z.array(z.record(z.string(), z.unknown())).meta({ description: 'The POST /api/domain bodies planned (or created), each as the API takes it; a clear password shows as "(hashed on apply)"' }),
  tcp_services: z
    .array(z.record(z.string(), z.unknown()))
    .meta({ description: "The POST /api/tcp-services bodies planned (or created): read from a configuration this daemon rendered itself (hm-tls-sni, <name>-tcp)" }),
  skipped: z.array(skippedOut).meta({ description: 'What is not imported, each with its file, line and reason (existing domains included: an import never overwrites)' }),
  notes: z.array(z.string()).meta({ description: 'How imported parts differ from the file (a copied backend, a check method, a redirect code)' }),
  warning: z.string().optional(),
});
