/**
 * Incidents: findings grouped by rule and subject.
 *
 * Contract:
 * - An incident opens on the first finding of a (rule, subject), is updated by
 *   later ones (count, last_seen, severity raised never lowered, a bounded set
 *   of sample lines), and resolves after `quietMs` of EVENT time without a
 *   finding, so a replay gives the same incidents as live.
 * - Memory is bounded: at most `maxOpen` open incidents (the least recently
 *   seen is resolved early when more arrive) and `maxSamples` samples each.
 * - Secrets stop here: every sample line (and the context lines before it)
 *   and every subject other than an address goes through `redact` (the one
 *   redactor, src/pipeline/redact/; the built-in keys when none is given)
 *   before it is kept, so storage, the API, notifications and prompts only
 *   ever see redacted text. Incidents are keyed by the redacted subject.
 * - Pure and synchronous; persistence (storage/incidents.ts) reads the
 *   changed incidents through `drainChanged()`, writes them, and hands the
 *   ids it returned back through `recordIds()` (storage never changes these
 *   objects: the registry owns them).
 */
import type { Finding, Severity, Subject, SuggestedAction } from '../types.js';
import { SEVERITIES } from '../types.js';
import { createRedactor, type Redactor } from '../redact/text.js';

export interface Incident {
  /** Database id once stored; 0 before. */
  id: number;
  rule: string;
  category: string;
  severity: Severity;
  subject: Subject;
  status: 'open' | 'resolved';
  firstSeen: number;
  lastSeen: number;
  count: number;
  /** The most lines one finding counted in its rule's window (a storm of 50 errors is one finding with 50). */
  matched?: number;
  escalate: boolean;
  actions: SuggestedAction[];
  samples: string[];
  resolvedAt: number | null;
}

export interface IncidentOptions {
  quietMs: number;
  maxSamples: number;
  maxOpen: number;
  /** The redactor samples and subjects go through (the operator's keys: `redaction.extra_secret_keys`). */
  redact?: Redactor;
}

const rank = (s: Severity) => SEVERITIES.indexOf(s);

export function createIncidents(opts: IncidentOptions) {
  const open = new Map<string, Incident>();
  const changed = new Set<Incident>();
  let opened = 0;
  /** Severity raises: with `opened`, tells the monitor a state change waits (it then writes at once). */
  let raised = 0;
  let resolved = 0;
  let clock = 0;

  const redact = opts.redact ?? createRedactor();

  const keyOf = (rule: string, s: Subject) => `${rule}\u0000${s.type}\u0000${s.value}`;

  const resolve = (inc: Incident, at: number) => {
    inc.status = 'resolved';
    inc.resolvedAt = at;
    open.delete(keyOf(inc.rule, inc.subject));
    changed.add(inc);
    resolved++;
  };

  return {
    /** Adds a finding; returns the incident it opened or updated. */
    add(found: Finding): Incident {
      // Samples are redacted below, only when kept (a finding past maxSamples costs nothing).
      const f: Finding = found.subject.type === 'ip' ? found : { ...found, subject: { ...found.subject, value: redact(found.subject.value) } };
      clock = Math.max(clock, f.time);
      const key = keyOf(f.rule, f.subject);
      let inc = open.get(key);
      // Quiet for longer than quietMs by this finding's time: that incident is over (whether or not a tick saw it), this opens the next.
      if (inc && f.time - inc.lastSeen >= opts.quietMs) {
        resolve(inc, inc.lastSeen + opts.quietMs);
        inc = undefined;
      }
      if (inc) {
        inc.count += 1;
        inc.matched = Math.max(inc.matched ?? 0, f.count);
        inc.lastSeen = Math.max(inc.lastSeen, f.time);
        if (rank(f.severity) > rank(inc.severity)) {
          inc.severity = f.severity;
          raised++;
        }
        inc.escalate ||= f.escalate;
        if (inc.samples.length < opts.maxSamples) inc.samples.push(redact(f.sample));
        // Keep recency order for eviction.
        open.delete(key);
        open.set(key, inc);
      } else {
        if (open.size >= opts.maxOpen) {
          const oldest = open.values().next().value as Incident;
          resolve(oldest, clock);
        }
        inc = {
          id: 0,
          rule: f.rule,
          category: f.category,
          severity: f.severity,
          subject: f.subject,
          status: 'open',
          firstSeen: f.time,
          lastSeen: f.time,
          count: 1,
          matched: f.count,
          escalate: f.escalate,
          actions: f.actions,
          // The lines leading up to the report first, then the one that crossed the threshold.
          samples: (f.context ? [...f.context, f.sample].slice(-opts.maxSamples) : [f.sample]).map(redact),
          resolvedAt: null,
        };
        open.set(key, inc);
        opened++;
      }
      changed.add(inc);
      return inc;
    },

    /** Resolves incidents quiet for longer than quietMs as of event time `now`; returns them. */
    tick(now: number): Incident[] {
      clock = Math.max(clock, now);
      const done: Incident[] = [];
      for (const inc of open.values()) {
        if (clock - inc.lastSeen >= opts.quietMs) done.push(inc);
      }
      for (const inc of done) resolve(inc, inc.lastSeen + opts.quietMs);
      return done;
    },

    /**
     * Takes back an incident a previous run left open (stored, so it has an
     * id): later findings of its rule and subject join it instead of opening
     * another, and it resolves after quietMs without one as usual. Not counted
     * as opened. Beyond maxOpen the least recently seen are not taken: the
     * caller resolves what this returns false for.
     */
    restore(inc: Incident): boolean {
      if (inc.status !== 'open' || inc.id === 0 || open.size >= opts.maxOpen) return false;
      open.set(keyOf(inc.rule, inc.subject), inc);
      clock = Math.max(clock, inc.lastSeen);
      return true;
    },

    /** Incidents changed since the last call (for storage). */
    drainChanged(): Incident[] {
      const out = [...changed];
      changed.clear();
      return out;
    },

    /**
     * Records the database ids storage returned for `list` (same order, as
     * storage/incidents.ts `write` returns them), so the next write of an
     * incident updates its row. A length mismatch is a caller's bug: it throws.
     */
    recordIds(list: readonly Incident[], ids: readonly number[]): void {
      if (ids.length !== list.length) throw new Error(`recordIds: ${ids.length} ids for ${list.length} incidents`);
      list.forEach((inc, n) => (inc.id = ids[n]!));
    },

    openIncidents: () => [...open.values()],
    stats: () => ({ open: open.size, opened, resolved, raised }),
  };
}

export type Incidents = ReturnType<typeof createIncidents>;
