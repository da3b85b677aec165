/**
 * Puts each planned body through the API's own validation and, where it
 * refuses a part that came from identifiable lines (a server, a header rule,
 * a user, an option group this daemon does not have yet), drops that part
 * and reports its lines with the API's reason; the rest of the domain is
 * kept. A refusal no part explains (the domain name, the backend name)
 * drops the domain. Pure: the validator is passed in.
 */
import type { ImportPlan, PlannedDomain, PlannedTcpService, Skipped, Source } from './plan.js';

/** The first problem the API finds in a body: where, why, and for unknown fields their names. */
export interface BodyIssue {
  path: (string | number)[];
  message: string;
  unknownKeys?: string[];
}

export interface Settled<T> {
  /** The bodies the API accepts, with what it parsed them into. */
  domains: { body: Record<string, unknown>; parsed: T; at: PlannedDomain['at'] }[];
  skipped: Skipped[];
}

const startsWith = (p: (string | number)[], prefix: (string | number)[]) => prefix.every((x, i) => p[i] === x);

function fieldOf(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(body)';
}

/** Removes the part at `path` from the body, and re-numbers the sources of the list it sat in. */
function drop(body: Record<string, unknown>, sources: Source[], path: (string | number)[]): Source[] {
  const parent = path.slice(0, -1);
  const last = path[path.length - 1]!;
  let holder: unknown = body;
  for (const p of parent) holder = (holder as Record<string | number, unknown>)[p];
  if (Array.isArray(holder) && typeof last === 'number') {
    holder.splice(last, 1);
    return sources
      .filter((s) => !startsWith(s.path, path))
      .map((s) => {
        if (startsWith(s.path, parent) && s.path.length > parent.length && typeof s.path[parent.length] === 'number' && (s.path[parent.length] as number) > last) {
          const p = [...s.path];
          p[parent.length] = (p[parent.length] as number) - 1;
          return { ...s, path: p };
        }
        return s;
      });
  }
  delete (holder as Record<string, unknown>)[last as string];
  return sources.filter((s) => !startsWith(s.path, path));
}

type Validate<T> = (body: Record<string, unknown>) => { ok: true; value: T } | { ok: false; issue: BodyIssue };

export function settle<T>(plan: ImportPlan, validate: Validate<T>): Settled<T> {
  const out: Settled<T> = { domains: [], skipped: [...plan.skipped] };
  settleEach(plan.domains, validate, 'domain', out);
  return out;
}

/** The TCP service bodies through POST /api/tcp-services' schema, as `settle` does for domains (refusals go to `skipped`). */
export function settleTcpServices<T>(services: PlannedTcpService[], validate: Validate<T>, skipped: Skipped[]): Settled<T>['domains'] {
  const out: Settled<T> = { domains: [], skipped };
  settleEach(services, validate, 'name', out);
  return out.domains;
}

function settleEach<T>(items: (PlannedDomain | PlannedTcpService)[], validate: Validate<T>, key: 'domain' | 'name', out: Settled<T>): void {
  for (const d of items) {
    const body = structuredClone(d.body);
    let sources = d.sources.map((s) => ({ ...s, path: [...s.path] }));
    for (let round = 0; ; round++) {
      const r = validate(body);
      if (r.ok) {
        out.domains.push({ body, parsed: r.value, at: d.at });
        break;
      }
      const { issue } = r;
      const unknown = issue.unknownKeys?.[0];
      const path = unknown !== undefined ? [...issue.path, unknown] : issue.path;
      // The deepest part that holds the problem and came from known lines.
      const part = sources.filter((s) => startsWith(path, s.path)).sort((a, b) => b.path.length - a.path.length)[0];
      if (!part || round > 200) {
        out.skipped.push({ ...d.at, reason: `${String(d.body[key])}: not imported: ${fieldOf(path)} ${issue.message}` });
        break;
      }
      const reason =
        unknown !== undefined && issue.path.length === 0
          ? `not expressible yet: this daemon's ${key === 'domain' ? 'POST /api/domain' : 'POST /api/tcp-services'} has no "${unknown}" group (${String(d.body[key])})`
          : `${String(d.body[key])}: ${fieldOf(path)} ${unknown !== undefined ? 'is not a known field' : issue.message}`;
      for (const l of part.lines) if (!out.skipped.some((s) => s.file === l.file && s.line === l.line && s.reason === reason)) out.skipped.push({ file: l.file, line: l.line, text: l.text, reason });
      sources = drop(body, sources, part.path);
    }
  }
}
