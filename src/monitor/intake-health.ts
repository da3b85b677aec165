/**
 * Silence on HAProxy's intake: HAProxy logs every request it serves, so
 * requests served with no line arriving for `silenceMs` mean the intake is
 * broken (HAProxy logs elsewhere, the socket is unreachable, the ring is
 * stuck) and the monitor is blind.
 *
 * `check(lastLineAt, cumReq, now)` keeps a baseline: HAProxy's request
 * counter (`show info` CumReq) when a line last arrived or when checking
 * began. It reports silence once no line arrived for `silenceMs` since the
 * baseline and the counter grew. A line arriving, an unknown counter, or a
 * counter that went down (a reload's new worker starts at zero) restarts
 * the baseline.
 */
export function createIntakeHealth(silenceMs: number) {
  let base: { at: number; cumReq: number; lastLineAt: number | null } | null = null;
  return {
    check(lastLineAt: number | null, cumReq: number | null, now: number): string | null {
      if (cumReq === null || !base || lastLineAt !== base.lastLineAt || cumReq < base.cumReq) {
        base = cumReq === null ? null : { at: now, cumReq, lastLineAt };
        return null;
      }
      if (cumReq === base.cumReq || now - base.at < silenceMs) return null;
      const since = Math.max(base.at, lastLineAt ?? 0);
      return `no log line from HAProxy for ${Math.round((now - since) / 1000)} s while it served ${cumReq - base.cumReq} requests (monitor.intake_silence)`;
    },
  };
}
