/**
 * Notifications (/notifications): the configured channels (names and types
 * only, from GET /api/notifications), a "Send test" per channel (POST
 * /api/notifications/test from the browser) and the outbox per channel.
 * Audit (/audit): the audit log (GET /api/audit), filtered by action and
 * paged back by id (`before`), newest first.
 */
import type { PageRegistrar } from '../console.js';
import type { AnswerOf, ItemOf } from '../wire.js';
import type { listChannels } from '../../api/routes/notifications.js';
import type { list as listAudit } from '../../api/routes/audit.js';
import { AppError } from '../../errors.js';

type Channels = AnswerOf<typeof listChannels>;
type AuditEntry = ItemOf<typeof listAudit>;

/** The actions the daemon records (storage/audit.ts callers), offered in the filter; any other name can be typed. */
const KNOWN_ACTIONS = [
  'blocked_ip.add',
  'blocked_ip.remove',
  'blocked_ip.clear_expired',
  'blocked_ip.sync',
  'trusted_ip.add',
  'trusted_ip.remove',
  'trusted_proxy.add',
  'trusted_proxy.remove',
  'domain.upsert',
  'domain.delete',
  'server.state',
  'tcp_service.upsert',
  'tcp_service.delete',
  'certificate.install',
  'certificate.remove',
  'config.regenerate',
  'haproxy.reload',
  'fleet.conflict',
  'fleet.change_refused',
];

const PAGE_SIZES = [25, 50, 100, 250];

const one = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '');

export function notificationsPages(page: PageRegistrar): void {
  page('/notifications', async (_ctx, { api }) => {
    const data = await api.get<Channels>('/api/notifications');
    return { template: 'notifications.njk', data: { title: 'Notifications', ...data } };
  });

  page('/audit', async (ctx, { api }) => {
    // As typed (never trimmed): the API judges the filters and a refused one is shown with its reason.
    const action = one(ctx.query.action);
    const before = one(ctx.query.before);
    const limitText = one(ctx.query.limit);
    const limitOk = limitText === '' || /^[1-9]\d{0,2}$/.test(limitText);
    const limit = limitOk && limitText !== '' ? Number(limitText) : 50;
    const filters = { action, before, limit: limitOk ? limit : limitText };
    let entries: AuditEntry[] = [];
    let error: string | null = limitOk ? null : 'limit: must be a whole number from 1 to 999';
    if (limitOk) {
      try {
        // Asks one more than it shows: that one says whether there is an older page.
        entries = await api.get<AuditEntry[]>('/api/audit', { action, before, limit: limit + 1 });
      } catch (e) {
        // A filter the API refuses (a malformed action name) is shown on the page with the form, not as an error page.
        if (!(e instanceof AppError) || e.kind !== 'validation') throw e;
        error = e.message;
      }
    }
    const more = entries.length > limit;
    const shown = entries.slice(0, limit).map((e) => ({ ...e, detailText: e.detail === null || e.detail === undefined ? '' : JSON.stringify(e.detail, null, 2) }));
    const q = (b: number | null) => {
      const p = new URLSearchParams();
      if (action) p.set('action', action);
      if (limit !== 50) p.set('limit', String(limit));
      if (b !== null) p.set('before', String(b));
      const s = p.toString();
      return s ? `/audit?${s}` : '/audit';
    };
    return {
      template: 'audit.njk',
      data: {
        title: 'Audit log',
        entries: shown,
        filters,
        error,
        actions: KNOWN_ACTIONS,
        pageSizes: PAGE_SIZES.includes(limit) ? PAGE_SIZES : [...PAGE_SIZES, limit].sort((a, b) => a - b),
        olderHref: more && shown.length ? q(shown.at(-1)!.id) : null,
        newestHref: before ? q(null) : null,
      },
    };
  });
}
