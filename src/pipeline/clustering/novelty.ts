/**
 * Novel errors, for the log monitor: application lines are clustered into
 * templates (./drain.ts, one miner per source) and two things are reported,
 * as plain data the triage stage turns into a Finding with `escalate: true`:
 *
 * - `new_template`: a line founded a template never seen before in its source
 *   (reported once per template id). A restart forgets what was learned, so
 *   nothing is reported for a source until it has shown `warmupLines` lines;
 *   those lines only teach the miner and the rates. A template that differs
 *   from a known one in a word or two (see `variantOf` in drain.ts) is
 *   reported too, with `variantOf` set, so triage may rate it lower.
 * - `burst`: the lines of one template within a tumbling window of
 *   `burstWindowMs` (event time, the line's own) reach `burstMinCount` and
 *   exceed `burstFactor` times the template's usual count per window (an
 *   exponentially weighted mean over past windows, empty windows included;
 *   at least 1). Reported once per template and window, never in the window
 *   where the template first appeared (that is `new_template`'s business),
 *   and not during warm-up.
 *
 * Windows use the time in the line, so a replay gives the answer a live run
 * gave. Lines out of order count in the current window. Memory is bounded:
 * `maxSources` sources (the least recently seen goes), the miner's own caps,
 * per-template rate state dropped with its template, and a bounded memory of
 * ids already reported (so a template evicted and found again is not
 * reported twice).
 */
import { createMiner, type Miner, type MinerOptions } from './drain.js';

export interface AppLine {
  /** The message (for a structured line, its message field). */
  message: string;
  /** Event time, ms since epoch. */
  time: number;
  /** The source's configured name. */
  source: string;
}

export interface NoveltyOptions {
  /** Lines per source that only teach, before anything is reported. Default 0. */
  warmupLines?: number;
  /** Burst window in ms (event time). Default 60 000. */
  burstWindowMs?: number;
  /** Lines of one template in a window before it can be a burst. Default 20. */
  burstMinCount?: number;
  /** A burst is a window count above this many times the usual count. Default 10. */
  burstFactor?: number;
  /** Weight of the latest window in the usual count (0..1). Default 0.2. */
  baselineWeight?: number;
  /** Sources tracked at once. Default 64. */
  maxSources?: number;
  /** Options of each source's miner (`onEvict` is the detector's own). */
  miner?: Omit<MinerOptions, 'onEvict'>;
}

/** What the triage stage turns into a Finding (rule e.g. `novel_error` / `error_burst`, escalate: true). */
export interface NoveltyEvent {
  kind: 'new_template' | 'burst';
  source: string;
  templateId: string;
  template: string;
  /** Event time of the line that triggered it. */
  time: number;
  /** new_template: 1; burst: the lines of the template in the current window. */
  count: number;
  /** The line that triggered it. */
  sample: string;
  /** new_template only: the known template this one is a word variant of. */
  variantOf?: string;
  /** burst only: the window length and the usual count per window before it. */
  windowMs?: number;
  baseline?: number;
}

export interface NoveltyStats {
  sources: number;
  templates: number;
  lines: number;
  reported: number;
}

export interface NoveltyDetector {
  /** Learns from one line; returns what it makes reportable, or null. */
  observe(line: AppLine): NoveltyEvent | null;
  /** The miner of a source (to list what it learned), or undefined. */
  miner(source: string): Miner | undefined;
  stats(): NoveltyStats;
}

interface Rate {
  window: number;
  count: number;
  baseline: number;
  /** Completed windows folded into the baseline. */
  windows: number;
  firstWindow: number;
  reportedWindow: number;
}

interface SourceState {
  miner: Miner;
  lines: number;
  rates: Map<string, Rate>;
  reported: Set<string>;
}

export function createNoveltyDetector(opts: NoveltyOptions = {}): NoveltyDetector {
  const warmup = Math.max(0, opts.warmupLines ?? 0);
  const windowMs = Math.max(1, opts.burstWindowMs ?? 60_000);
  const minCount = Math.max(1, opts.burstMinCount ?? 20);
  const factor = Math.max(1, opts.burstFactor ?? 10);
  const alpha = Math.min(1, Math.max(0.01, opts.baselineWeight ?? 0.2));
  const maxSources = Math.max(1, opts.maxSources ?? 64);
  const maxTemplates = opts.miner?.maxTemplates ?? 5000;
  const maxReported = maxTemplates * 4;
  const sources = new Map<string, SourceState>();
  let lines = 0;
  let reportedTotal = 0;

  function stateOf(name: string): SourceState {
    let s = sources.get(name);
    if (s) {
      // Keep the map in least-recently-seen order.
      sources.delete(name);
      sources.set(name, s);
      return s;
    }
    const rates = new Map<string, Rate>();
    s = {
      lines: 0,
      rates,
      reported: new Set(),
      miner: createMiner({
        ...opts.miner,
        onEvict: (t) => {
          rates.delete(t.id);
          for (const a of t.aliases ?? []) rates.delete(a);
        },
      }),
    };
    sources.set(name, s);
    if (sources.size > maxSources) {
      const oldest = sources.keys().next().value as string;
      sources.delete(oldest);
    }
    return s;
  }

  /** Counts the line in its template's window; returns the rate when this line makes a burst. */
  function count(s: SourceState, id: string, time: number): Rate | null {
    const w = Math.floor(time / windowMs);
    let r = s.rates.get(id);
    if (!r) {
      r = { window: w, count: 0, baseline: 0, windows: 0, firstWindow: w, reportedWindow: -Infinity };
      s.rates.set(id, r);
      // Ids merged away keep their entry until their group goes; a hard cap keeps that bounded too.
      if (s.rates.size > 2 * maxTemplates) s.rates.delete(s.rates.keys().next().value as string);
    }
    if (w > r.window) {
      r.baseline = r.windows === 0 ? r.count : r.baseline * (1 - alpha) + r.count * alpha;
      r.windows++;
      // Empty windows in between lower the usual count too (a handful at most matter).
      const gap = Math.min(w - r.window - 1, 64);
      if (gap > 0) {
        r.baseline *= (1 - alpha) ** gap;
        r.windows += gap;
      }
      r.window = w;
      r.count = 0;
    }
    r.count++;
    if (r.count >= minCount && r.window !== r.firstWindow && r.reportedWindow !== r.window && r.count > factor * Math.max(1, r.baseline)) {
      return r;
    }
    return null;
  }

  function remember(s: SourceState, id: string): boolean {
    if (s.reported.has(id)) return false;
    s.reported.add(id);
    if (s.reported.size > maxReported) s.reported.delete(s.reported.values().next().value as string);
    return true;
  }

  return {
    observe(line: AppLine): NoveltyEvent | null {
      lines++;
      const s = stateOf(line.source);
      s.lines++;
      const r = s.miner.add(line.message, line.time);
      // Rates are kept under the id add() reports; a merge moves the id to an alias, whose rate is then dropped.
      const rate = count(s, r.id, line.time);
      const warm = s.lines > warmup;
      if (r.isNew) {
        if (!remember(s, r.id) || !warm) return null;
        reportedTotal++;
        const ev: NoveltyEvent = { kind: 'new_template', source: line.source, templateId: r.id, template: r.template, time: line.time, count: 1, sample: line.message };
        if (r.variantOf) ev.variantOf = r.variantOf;
        return ev;
      }
      if (rate && warm) {
        rate.reportedWindow = rate.window;
        reportedTotal++;
        return { kind: 'burst', source: line.source, templateId: r.id, template: r.template, time: line.time, count: rate.count, sample: line.message, windowMs, baseline: rate.baseline };
      }
      return null;
    },
    miner(source: string): Miner | undefined {
      return sources.get(source)?.miner;
    },
    stats(): NoveltyStats {
      let templates = 0;
      for (const s of sources.values()) templates += s.miner.size;
      return { sources: sources.size, templates, lines, reported: reportedTotal };
    },
  };
}
