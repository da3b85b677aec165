/**
 * Folding: near-identical incidents share one analysis.
 *
 * Contract:
 * - `foldKey(inc)` is a hash of (rule, backend, signature), never of an
 *   address subject: two clients fetching `/.env` from the same catch-all
 *   backend ask one question ("is this a leak?"), whose verdict the policy
 *   then applies to each client as its own subject (analyser.ts re-aims an
 *   address action at each member's subject; the guardrails judge each).
 * - backend: the subject's backend (backend and server subjects), else the
 *   backend the triggering sample line names (HAProxy lines), else none.
 * - signature: what the line is, without what varies per client or per
 *   request: for an HTTP line the host, method and status class (the rule
 *   already fixed what in the path made it fire); for an HAProxy event its
 *   kind; for anything else the masked text (as the novelty detector masks
 *   it). A subject that is itself a template or a place (host, path: a
 *   novel error's template id, a login URL) is part of the signature; for a
 *   template subject over non-HTTP lines it is the whole of it (the
 *   clusterer made the template: its lines are one kind by definition).
 * - Pure; the triggering sample is the incident's last (the line that crossed
 *   the rule's threshold). Everything in it is attacker-written: it is only
 *   hashed here, never shown.
 */
import { createHash } from 'node:crypto';
import type { Incident } from '../incidents/group.js';
import { maskText } from '../clustering/mask.js';
import { parseLine } from '../parse/index.js';
import type { ParsedLine } from '../types.js';

export interface FoldParts {
  rule: string;
  backend: string;
  signature: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 200) : typeof v === 'number' ? String(v) : '');

function parsed(line: string, now: number): ParsedLine | null {
  for (const f of ['haproxy', 'json', 'text'] as const) {
    // `now` gives year-less syslog stamps a year; a nonsense one makes the line unparsable.
    const p = parseLine(line, f, { now });
    if (p.ok && p.kind !== 'unknown') return p;
  }
  return null;
}

/** The parts of an incident's fold key (see the module contract). */
export function foldParts(inc: Incident): FoldParts {
  const sample = inc.samples[inc.samples.length - 1] ?? '';
  const p = parsed(sample, Number.isFinite(inc.lastSeen) && inc.lastSeen > 0 ? inc.lastSeen : Date.now());
  const f = p?.fields ?? {};
  let backend = inc.subject.type === 'backend' || inc.subject.type === 'server' ? (inc.subject.value.split('/')[0] ?? '') : str(f.backend);
  let signature: string;
  if (p?.kind === 'http') {
    const status = typeof f.status === 'number' ? `${Math.floor(f.status / 100)}xx` : '?';
    signature = `http ${str(f.host).toLowerCase()} ${str(f.method)} ${status}`;
  } else if (p?.kind === 'event') {
    signature = `event ${str(f.event)}`;
  } else if (inc.subject.type === 'path') {
    // The subject is the template itself (a novel error's or a template burst's
    // id): the clusterer already decided which lines are one template, and two
    // of its lines may still mask differently ("connect timeout" / "read timeout").
    signature = 'template';
  } else {
    signature = `text ${maskText(str(f.message) || sample).slice(0, 500)}`;
  }
  if (inc.subject.type === 'host' || inc.subject.type === 'path') signature = `${inc.subject.type} ${inc.subject.value} ${signature}`;
  if (inc.subject.type === 'backend' && !backend) backend = inc.subject.value;
  return { rule: inc.rule, backend, signature };
}

export function foldKey(inc: Incident): string {
  const k = foldParts(inc);
  return createHash('sha256').update(JSON.stringify(['fold', k.rule, inc.subject.type, k.backend, k.signature])).digest('hex').slice(0, 32);
}
