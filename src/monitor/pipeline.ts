/**
 * The log pipeline's stages wired in one place: parse -> triage -> incidents,
 * with novel application errors beside triage. Pure and synchronous (no I/O):
 * the daemon feeds it from its sources and persists what changed; `monitor
 * replay` feeds it from a file as fast as it can. Both give the same incidents
 * for the same lines, because every window runs on the time in the line.
 */
import { parseLine } from '../pipeline/parse/index.js';
import type { LineParser } from '../pipeline/parse/text-pattern.js';
import type { Triage } from '../pipeline/triage/engine.js';
import { createIncidents, type IncidentOptions, type Incidents, type Incident } from '../pipeline/incidents/group.js';
import type { Finding, ParsedLine, RawLine } from '../pipeline/types.js';
import { createNovelty, type Novelty } from '../pipeline/clustering/novelty-findings.js';
import type { Config } from '../config/schema.js';
import { durationMs } from '../util/duration.js';
import { compileTextPattern } from '../pipeline/parse/text-pattern.js';
import { loadRules } from '../pipeline/triage/load.js';
import { createTriage } from '../pipeline/triage/engine.js';
import type { RuleSpec } from '../pipeline/triage/schema.js';
import { createRedactor, type Redactor } from '../pipeline/redact/text.js';

export interface PipelineStats {
  lines: number;
  unparsed: number;
  findings: number;
  novel: number;
  /** The last lines that did not parse (bounded), for the status API. */
  unparsed_samples: { source: string; line: string }[];
  /** Lines whose own time was more than monitor.max_clock_skew ahead of their receipt: their time was clamped to the receipt. */
  time_clamped: number;
  /** The furthest ahead such a line claimed to be, in ms (0: none). */
  max_time_ahead_ms: number;
  per_source: Record<string, { lines: number; unparsed: number; time_clamped: number }>;
}

export interface PipelineOptions {
  triage: Triage;
  incidents: IncidentOptions;
  /** Application lines per source before a never-seen error template counts as novel. */
  noveltyWarmup: number;
  /** Text sources with their own regular expression (source name -> compiled parser). */
  patterns?: Map<string, LineParser>;
  /** The one redactor (src/pipeline/redact/): incident samples and the unparsed samples the status API shows go through it. */
  redact?: Redactor;
  /** monitor.max_clock_skew in ms: a line's time further ahead of its receipt is clamped (parse/clock-skew.ts). Absent: no limit (tests with fixed times). */
  maxClockSkewMs?: number;
}

const MAX_SAMPLES = 20;
const MAX_SAMPLE_CHARS = 500;

export function createPipeline(opts: PipelineOptions) {
  const redact = opts.redact ?? createRedactor();
  const incidents: Incidents = createIncidents({ ...opts.incidents, redact });
  const novelty: Novelty = createNovelty({ warmup: opts.noveltyWarmup });
  const stats: PipelineStats = { lines: 0, unparsed: 0, findings: 0, novel: 0, unparsed_samples: [], time_clamped: 0, max_time_ahead_ms: 0, per_source: {} };
  let clock = 0;
  // Parse contexts made once and changed in place per line (parseLine reads them and keeps nothing): no object per line.
  const ctx: { now: number; maxAheadMs?: number } = { now: 0 };
  if (opts.maxClockSkewMs !== undefined) ctx.maxAheadMs = opts.maxClockSkewMs;
  const ctxPattern: { now: number; maxAheadMs?: number; pattern: LineParser } = { ...ctx, pattern: (_l, _n) => ({ ok: false, kind: 'unknown', time: null, fields: {} }) };

  const handle = (f: Finding) => {
    stats.findings++;
    incidents.add(f);
  };

  return {
    /** Runs one line through every stage; returns the parsed line (for explain and tests). */
    process(raw: RawLine): ParsedLine {
      const pattern = raw.format === 'text' ? opts.patterns?.get(raw.source) : undefined;
      let c: typeof ctx = ctx;
      if (pattern) {
        ctxPattern.pattern = pattern;
        c = ctxPattern;
      }
      c.now = raw.receivedAt;
      const p = parseLine(raw.line, raw.format, c);
      stats.lines++;
      let src = stats.per_source[raw.source];
      if (!src) src = stats.per_source[raw.source] = { lines: 0, unparsed: 0, time_clamped: 0 };
      src.lines++;
      if (p.timeAheadMs !== undefined) {
        stats.time_clamped++;
        src.time_clamped++;
        if (p.timeAheadMs > stats.max_time_ahead_ms) stats.max_time_ahead_ms = p.timeAheadMs;
      }
      if (!p.ok) {
        stats.unparsed++;
        src.unparsed++;
        if (stats.unparsed_samples.length >= MAX_SAMPLES) stats.unparsed_samples.shift();
        // A copy: the line may be a slice of a large chunk of text (replay-lines.ts) that a kept slice would hold whole.
        stats.unparsed_samples.push({ source: raw.source, line: redact((' ' + raw.line.slice(0, MAX_SAMPLE_CHARS)).slice(1)) });
      }
      if (p.time !== null && p.time > clock) clock = p.time;
      const found = opts.triage.process(p, raw.source, raw.line);
      for (let i = 0; i < found.length; i++) handle(found[i] as Finding);
      if (p.kind === 'app') {
        const f = novelty.observe(raw.source, p, raw.line, p.time ?? (clock || raw.receivedAt));
        if (f) {
          stats.novel++;
          handle(f);
        }
      }
      return p;
    },

    /**
     * A sharded replay's main thread (cli/replay-shards.ts), where the
     * shards' results meet in line order: a line's own time (as process()
     * reads it), then what it caused there: `add` for a finding a shard
     * made, `resume` for a window a shard handed over (engine.ts forward).
     */
    see(time: number): void {
      if (time > clock) clock = time;
    },
    add: handle,
    resume(rule: number, key: string, value: number | undefined, t: number, raw: string | undefined): void {
      const f = opts.triage.resume(rule, key, value, t, raw);
      if (f !== null) handle(f);
    },

    /** Resolves incidents quiet since `now` (event time; the daemon passes max(event clock, wall clock)). */
    tick(now = clock): Incident[] {
      return incidents.tick(now);
    },

    /** The latest time seen in the lines. */
    clock: () => clock,
    incidents,
    stats: () => stats,
    /** Triage's counters per rule (the metrics page). */
    triageStats: () => opts.triage.stats(),
    /** Triage's windows worth keeping across a restart (engine.ts snapshot), and taking them back. */
    triageSnapshot: (keep: Parameters<Triage['snapshot']>[0]) => opts.triage.snapshot(keep),
    triageRestore: (snap: Parameters<Triage['restore']>[0]) => opts.triage.restore(snap),
    noveltyTemplates: () => novelty.templates(),
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;

/**
 * The pipeline the operator's settings describe: shipped rules with the
 * operator's rules directory over them, the monitor's incident and novelty
 * settings, the sources' own patterns. The daemon's monitor and the offline
 * commands (`monitor replay`) build theirs here, so both see a log alike.
 * Throws (with the file and reason) when a rule does not load.
 */
export function pipelineFromConfig(cfg: Pick<Config, 'monitor' | 'redaction'>, o: { shippedRulesDir: string; rulesDir?: string; isProtected: (ip: string) => boolean }): { pipeline: Pipeline; rules: number; specs: RuleSpec[] } {
  const rules = loadRules({ dir: o.rulesDir ?? o.shippedRulesDir, operatorDir: o.rulesDir ? null : cfg.monitor.rules_dir });
  const pipeline = createPipeline({
    triage: createTriage(rules.rules, { isProtected: o.isProtected }),
    incidents: { quietMs: durationMs(cfg.monitor.incident_quiet), maxSamples: cfg.monitor.max_samples, maxOpen: cfg.monitor.max_open_incidents },
    noveltyWarmup: cfg.monitor.novelty_warmup,
    maxClockSkewMs: durationMs(cfg.monitor.max_clock_skew),
    redact: createRedactor({ extraKeys: cfg.redaction.extra_secret_keys }),
    patterns: new Map(cfg.monitor.sources.filter((s) => s.regex !== undefined).map((s) => [s.name, compileTextPattern(s.regex!)])),
  });
  return { pipeline, rules: rules.rules.length, specs: rules.rules };
}
