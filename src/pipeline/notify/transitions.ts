/**
 * Which incident updates are state changes worth a message: opened, escalated
 * (severity rose, or the incident started asking for escalation), resolved.
 * A count going up is not a state change. `acted` comes from the action stage
 * directly. Memory: one entry per open incident, dropped on resolve.
 */
import type { Incident } from '../incidents/group.js';
import { SEVERITIES } from '../types.js';
import type { Severity } from '../types.js';
import type { EventKind } from '../../config/notifications.js';

export function createTransitionTracker() {
  const seen = new Map<number, { severity: Severity; escalate: boolean }>();
  return {
    /** Returns the event kind this update is, or null when it changes nothing worth telling. */
    observe(inc: Incident): Exclude<EventKind, 'acted' | 'test'> | null {
      const prev = seen.get(inc.id);
      if (inc.status === 'resolved') {
        seen.delete(inc.id);
        return 'resolved';
      }
      if (!prev) {
        seen.set(inc.id, { severity: inc.severity, escalate: inc.escalate });
        return 'opened';
      }
      const rose = SEVERITIES.indexOf(inc.severity) > SEVERITIES.indexOf(prev.severity);
      const asked = inc.escalate && !prev.escalate;
      if (rose || asked) {
        seen.set(inc.id, { severity: inc.severity, escalate: inc.escalate });
        return 'escalated';
      }
      return null;
    },
    /** An incident already told as opened (a previous run's, taken back at start): its next update is not "opened" again. */
    know(inc: Incident): void {
      if (inc.status === 'open') seen.set(inc.id, { severity: inc.severity, escalate: inc.escalate });
    },
    size: () => seen.size,
  };
}
