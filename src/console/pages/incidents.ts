/**
 * Console pages: incidents (list with filters, and one incident with its
 * samples, analyses and actions), remediation actions (approve, reject,
 * revert) and Explain (paste log lines: how each parses, which rules match).
 *
 * Everything shown here was written by a client (samples, subjects, paths,
 * user agents) or a model (summaries, likely causes, recommendations): the
 * templates mark it client-text / model-text and autoescape renders it as
 * text. Reads go through the API only; the changes (approve, reject,
 * revert, explain) are sent by the browser to the API (console.js).
 */
import type { Context } from 'koa';
import type { PageRegistrar } from '../console.js';
import type { ConsoleApi } from '../api-client.js';
import { SEVERITIES } from '../../pipeline/types.js';
import { ACTION_STATUSES, inverseOf } from '../../pipeline/policy/actions.js';
import { unitOf } from '../../pipeline/actions/registry.js';
import type { fleetStatus } from '../../api/routes/fleet.js';
import type { ActionType } from '../../pipeline/policy/types.js';
import { isAppError } from '../../errors.js';
import type { AnswerOf, ItemOf } from '../wire.js';
import type { list as listIncidents } from '../../api/routes/incidents.js';
import type { list as listActions } from '../../api/routes/actions.js';

const PAGE = 50;

export type IncidentRow = ItemOf<typeof listIncidents>;
export type ActionRow = ItemOf<typeof listActions>;

/**
 * One query-string value as typed, or '' (a parameter given twice counts as
 * not given). Never trimmed: the API judges it, and a value it refuses is
 * shown with its reason.
 */
const q = (ctx: Context, k: string): string => {
  const v = ctx.query[k];
  return typeof v === 'string' ? v : '';
};

/**
 * What the operator can do with an action right now. `self`: this node's name
 * in a fleet (null on a single node): another node's action on its own
 * HAProxy (not an address) is acted on there, so no control is offered here.
 */
function controls(a: ActionRow, self: string | null) {
  const here = a.node === null || a.node === self || unitOf(a.action as ActionType).targetKind === 'ip';
  return {
    ...a,
    can_decide: a.status === 'proposed' && here,
    can_revert: a.status === 'done' && inverseOf(a.action as ActionType) !== null && here,
    /** The guardrail that refused it (its reason reads "guardrail <code>: ..."), or no_policy when no policy rule allowed it. */
    guardrail: /^guardrail ([a-z_]+):/.exec(a.reason)?.[1] ?? (a.mode === 'refused' && a.actor === null ? 'no_policy' : null),
  };
}

/** The actions with their controls, or null with the reason when remediation is not running. */
async function actionsOf(api: ConsoleApi, query: Record<string, string | number | undefined>) {
  try {
    const [list, fleet] = await Promise.all([api.get<ActionRow[]>('/api/actions', query), api.get<AnswerOf<typeof fleetStatus>>('/api/fleet')]);
    return { list: list.map((a) => controls(a, fleet.node_name)), note: null };
  } catch (e) {
    if (isAppError(e) && e.kind === 'unavailable') return { list: null, note: e.message };
    throw e;
  }
}

export function incidentsPages(page: PageRegistrar): void {
  page('/incidents', async (ctx, { api }) => {
    const filters = { status: q(ctx, 'status'), severity: q(ctx, 'severity'), rule: q(ctx, 'rule'), subject: q(ctx, 'subject') };
    const before = q(ctx, 'before');
    let rows: IncidentRow[] = [];
    let error: string | null = null;
    try {
      rows = await api.get<IncidentRow[]>('/api/incidents', { ...filters, before, limit: PAGE + 1 });
    } catch (e) {
      // A bad filter (the API names it) is shown above an empty list, not as a broken page.
      if (!isAppError(e) || e.kind !== 'validation') throw e;
      error = e.message;
    }
    const more = rows.length > PAGE;
    if (more) rows = rows.slice(0, PAGE);
    const keep = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ''));
    const older = more ? `/incidents?${new URLSearchParams({ ...keep, before: String(rows.at(-1)!.id) })}` : null;
    const newest = before ? `/incidents${Object.keys(keep).length ? `?${new URLSearchParams(keep)}` : ''}` : null;
    return {
      template: 'incidents.njk',
      data: { title: 'Incidents', rows, filters, error, older, newest, before, severities: [...SEVERITIES].reverse(), filtered: Object.keys(keep).length > 0 },
      ...(error ? { status: 400 } : {}),
    };
  });

  page('/incidents/:id', async (ctx, { api }) => {
    const id = String(ctx.params.id ?? '');
    if (!/^[1-9]\d{0,15}$/.test(id)) return { template: 'error.njk', data: { title: 'Not found', message: 'An incident id is a positive integer.' }, status: 404 };
    const incident = await api.get<IncidentRow & { analyses: Record<string, unknown>[] }>(`/api/incidents/${id}`);
    const actions = await actionsOf(api, { incident_id: incident.id, limit: 1000 });
    const mine = actions.list;
    return {
      template: 'incidents-detail.njk',
      data: { title: `Incident #${incident.id}`, incident, actions: mine, actionsNote: actions.note },
    };
  });

  page('/actions', async (ctx, { api }) => {
    const status = q(ctx, 'status');
    const known = (ACTION_STATUSES as readonly string[]).includes(status);
    const actions = await actionsOf(api, { limit: 200, ...(known ? { status } : {}) });
    const list = actions.list;
    return {
      template: 'actions.njk',
      data: {
        title: 'Actions',
        proposed: list?.filter((a) => a.status === 'proposed') ?? [],
        rest: list?.filter((a) => a.status !== 'proposed') ?? [],
        running: list !== null,
        note: actions.note,
        status: known ? status : '',
        statuses: ACTION_STATUSES,
      },
    };
  });

  page('/explain', async (_ctx, { api }) => {
    const st = await api.get<{ enabled: boolean; rules?: number }>('/api/monitor/status');
    return { template: 'explain.njk', data: { title: 'Explain', rules: st.rules ?? null, max: 200 } };
  });
}
