/**
 * decide(): from an incident and its analysis, the candidate actions with a
 * mode each, under the policy and then the guardrails. Pure: no I/O, no
 * clock (the context gives `now`), the same input gives the same output.
 *
 * Candidates come from three places:
 *  - the incident's suggested actions (origin `rules`): block_ip on the ip
 *    subject with the rule's TTL, notify (`escalate` is not an action);
 *  - the analysis' recommended actions (origin: the analysis' source);
 *  - the policy itself (origin `policy`): an action entry with `from: policy`
 *    creates its action, targeted at the incident's subject where needed.
 * Policy rules are walked in order (CrowdSec's profiles). A matching rule
 * gives each still undecided candidate of a listed type and origin that
 * entry's mode; `on_match: stop` ends the walk. A candidate no rule decided
 * is returned refused (`no_policy`). Then `simulation: true` turns enforce
 * into dry-run, and the guardrails run on each candidate in order, with the
 * incident's subject: a model's address action aimed anywhere else is
 * refused (`target_not_subject`, guardrails.ts).
 */
import type { Incident } from '../incidents/group.js';
import { SEVERITIES } from '../types.js';
import { parseIp } from '../../validate/ip.js';
import { applyGuardrails, guardrailState } from './guardrails.js';
import type { Policy, PolicyActionEntry, PolicyRule } from './schema.js';
import type { ActionType, Analysis, Decision, Origin, PolicyContext } from './types.js';
import { isAction, unitOf } from '../actions/registry.js';

const rank = (s: string) => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);

const globCache = new Map<string, RegExp>();
function glob(p: string): RegExp {
  let re = globCache.get(p);
  if (!re) {
    re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    globCache.set(p, re);
  }
  return re;
}

/** True when the policy rule's `match` holds for the incident and analysis. */
export function ruleMatches(rule: Pick<PolicyRule, 'match'>, incident: Incident, analysis: Analysis | null): boolean {
  const m = rule.match;
  if (m.rule && !m.rule.some((p) => glob(p).test(incident.rule))) return false;
  if (m.category && !m.category.includes(incident.category)) return false;
  if (m.severity_at_least && rank(incident.severity) < rank(m.severity_at_least)) return false;
  if (m.subject_type && !m.subject_type.includes(incident.subject.type)) return false;
  if (m.escalate !== undefined && incident.escalate !== m.escalate) return false;
  const a = m.analysis;
  if (a) {
    if (a.present !== undefined && (analysis !== null) !== a.present) return false;
    const needsOne = a.source !== undefined || a.confidence_at_least !== undefined || a.recommends !== undefined;
    if (needsOne && analysis === null) return false;
    if (analysis) {
      if (a.source && !a.source.includes(analysis.source)) return false;
      if (a.confidence_at_least !== undefined && !(analysis.confidence >= a.confidence_at_least)) return false;
      if (a.recommends && !analysis.recommended_actions.some((r) => (a.recommends as string[]).includes(r.type))) return false;
    }
  }
  return true;
}

/** The `settled` entry that keeps this incident from the LLM tier (its rule and the policy settle it alone), or null. */
export function settledEntry(policy: Policy, incident: Incident): string | null {
  for (const e of policy.settled) {
    if (e.enabled && ruleMatches(e, incident, null)) return e.name;
  }
  return null;
}

/**
 * The `analyse` entry that sends this incident to the LLM tier, or null:
 * the incident is settled by the rules alone (no entry matches, or a
 * `settled` entry does, whatever `analyse` says).
 */
export function analyseEntry(policy: Policy, incident: Incident): string | null {
  if (settledEntry(policy, incident)) return null;
  for (const e of policy.analyse) {
    if (e.enabled && ruleMatches(e, incident, null)) return e.name;
  }
  return null;
}

interface Candidate {
  d: Decision;
  decided: boolean;
  entry?: PolicyActionEntry;
}

/** The incident's subject as a target for `action`, or null when it does not fit. */
function subjectTarget(action: ActionType, incident: Incident): string | null {
  const kind = unitOf(action).targetKind;
  return kind !== 'none' && incident.subject.type === kind ? incident.subject.value : null;
}

function candidates(incident: Incident, analysis: Analysis | null): Candidate[] {
  const out: Candidate[] = [];
  const base = { policyRule: null, mode: 'refused' as const, reason: 'no policy rule allows it', guardrail: 'no_policy' as const, incidentId: incident.id };
  for (const s of incident.actions) {
    if (s.type === 'block_ip') {
      out.push({ decided: false, d: { ...base, action: 'block_ip', target: s.target ?? subjectTarget('block_ip', incident), ttl_s: s.ttl_s ?? null, origin: 'rules' } });
    } else if (s.type === 'notify') {
      out.push({ decided: false, d: { ...base, action: 'notify', target: null, ttl_s: null, origin: 'rules' } });
    }
  }
  if (analysis) {
    const origin: Origin = analysis.source === 'llm' ? 'llm' : 'rules';
    // Bounded: an analysis is attacker-influenced and could list thousands.
    for (const r of analysis.recommended_actions.slice(0, 20)) {
      if (!isAction(r.type)) {
        out.push({
          decided: true,
          d: { ...base, action: 'notify', target: null, ttl_s: null, origin, guardrail: 'unknown_action', reason: `guardrail unknown_action: ${JSON.stringify(String(r.type).slice(0, 40))} is not an action` },
        });
        continue;
      }
      const target = r.target ?? null;
      out.push({ decided: false, d: { ...base, action: r.type, target: typeof target === 'string' ? target : null, ttl_s: typeof r.ttl_s === 'number' ? r.ttl_s : null, origin } });
    }
  }
  return out;
}

function repeatTtl(entry: PolicyActionEntry, d: Decision, ctx: PolicyContext): number | null {
  const ro = entry.repeat_offenders;
  if (!ro || d.ttl_s === null || d.target === null) return d.ttl_s;
  const since = ctx.now - ro.window;
  const n = ctx.recentActions.filter((a) => a.action === d.action && a.mode === 'enforce' && a.target === d.target && a.at > since).length;
  if (n === 0) return d.ttl_s;
  return Math.min(Math.round(d.ttl_s * ro.factor ** n), Math.max(ro.max_ttl, d.ttl_s));
}

/** The candidate actions for an incident with their modes, refused ones included. */
export function decide(policy: Policy, incident: Incident, analysis: Analysis | null, ctx: PolicyContext): Decision[] {
  const cands = candidates(incident, analysis);
  for (const rule of policy.rules) {
    if (!rule.enabled || !ruleMatches(rule, incident, analysis)) continue;
    const why = rule.description ? `policy rule ${rule.name}: ${rule.description}` : `policy rule ${rule.name}`;
    for (const entry of rule.actions) {
      for (const c of cands) {
        if (c.decided || c.d.action !== entry.type || !entry.from.includes(c.d.origin)) continue;
        c.decided = true;
        c.entry = entry;
        const { guardrail: _g, ...rest } = c.d;
        c.d = { ...rest, mode: entry.mode, policyRule: rule.name, reason: why, ttl_s: entry.ttl ?? c.d.ttl_s };
      }
      if (entry.from.includes('policy')) {
        const target = subjectTarget(entry.type, incident);
        const needsTarget = unitOf(entry.type).targetKind !== 'none';
        const already = cands.some((c) => c.decided && c.d.action === entry.type && (c.d.target ?? null) === target);
        if (!already && (!needsTarget || target !== null)) {
          // The same action from another origin (an LLM saying "restart") is
          // the policy's own action now: record it as a duplicate, not twice.
          for (const c of cands) {
            if (c.decided || c.d.action !== entry.type || (c.d.target ?? null) !== target) continue;
            c.decided = true;
            c.d = { ...c.d, mode: 'refused', policyRule: rule.name, guardrail: 'duplicate', reason: `guardrail duplicate: policy rule ${rule.name} takes this action itself` };
          }
          cands.push({
            decided: true,
            entry,
            d: { action: entry.type, target, ttl_s: entry.ttl ?? null, mode: entry.mode, origin: 'policy', policyRule: rule.name, reason: why, incidentId: incident.id },
          });
        }
      }
    }
    if (rule.on_match === 'stop') break;
  }

  const state = guardrailState(ctx);
  return cands.map((c) => {
    let d = c.d;
    if (c.entry && unitOf(d.action).timed) {
      // Canonicalise before counting repeats; guardrails re-check it.
      d = { ...d, ttl_s: repeatTtl(c.entry, { ...d, target: canonical(d.target) }, ctx) };
    }
    if (policy.simulation && d.mode === 'enforce') d = { ...d, mode: 'dry-run', reason: `${d.reason} (simulation)` };
    return applyGuardrails(d, ctx, state, 'daemon', incident.subject);
  });
}

function canonical(t: string | null): string | null {
  if (t === null) return null;
  return parseIp(t)?.text ?? t;
}
