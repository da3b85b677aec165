/**
 * Routing: which channels hear about an event. Pure.
 *
 * Rules, like CrowdSec profiles: routes are tried in order; a route matches
 * when every filter it sets matches (kinds, min_severity, categories); the
 * channels of every matching route are collected (each once, in order)
 * until a matching route says `stop`. No routes at all: every event goes to
 * every channel (configuring a channel is enough to hear from the daemon).
 * A `test` event naming a channel goes to that channel only, whatever the
 * routes say.
 */
import { SEVERITIES } from '../types.js';
import type { Severity } from '../types.js';
import type { RouteConfig } from '../../config/notifications.js';
import type { EventKind } from '../../config/notifications.js';

export interface RouteInput {
  kind: EventKind;
  /** Absent for a test event. */
  severity?: Severity;
  category?: string;
  /** For `test`: the one channel to send to. */
  channel?: string;
}

export function routeEvent(routes: readonly RouteConfig[], knownChannels: readonly string[], ev: RouteInput): string[] {
  if (ev.kind === 'test' && ev.channel !== undefined) {
    return knownChannels.includes(ev.channel) ? [ev.channel] : [];
  }
  if (routes.length === 0) return [...knownChannels];
  const out: string[] = [];
  for (const r of routes) {
    if (r.kinds && !r.kinds.includes(ev.kind)) continue;
    if (r.min_severity !== undefined) {
      if (ev.severity === undefined) continue;
      if (SEVERITIES.indexOf(ev.severity) < SEVERITIES.indexOf(r.min_severity)) continue;
    }
    if (r.categories && (ev.category === undefined || !r.categories.includes(ev.category))) continue;
    for (const ch of r.channels) if (!out.includes(ch) && knownChannels.includes(ch)) out.push(ch);
    if (r.stop) break;
  }
  return out;
}
