/**
 * A progress line for long work (a replay, bulk certificate requests, an
 * import): drawn on stderr, redrawn in place, only when stderr is a terminal.
 * Never on a pipe or a file, so scripts and logs never see it. Other output
 * calls `clear()` first so a result line never lands in the middle of a bar.
 */
export interface Progress {
  /** Whether anything is drawn at all (stderr is a terminal). */
  readonly active: boolean;
  /** Redraws (at most every 100 ms unless `force`): a bar with the percentage when `total` is known, else the count. */
  update(done: number, total?: number | null, note?: string, force?: boolean): void;
  /** Erases the line (before other output). */
  clear(): void;
  /** Erases the line for good. */
  end(): void;
}

export interface ProgressOptions {
  /** Where it is drawn (default process.stderr); nothing is drawn unless this is a TTY. */
  stream?: NodeJS.WriteStream;
  /** How `done` and `total` are shown (default: numbers with thousands separators). */
  unit?: (n: number) => string;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Human byte counts: 512 B, 1.5 MB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function progressLine(label: string, o: ProgressOptions = {}): Progress {
  const s = o.stream ?? process.stderr;
  const active = s.isTTY === true;
  const unit = o.unit ?? fmt;
  let last = 0;
  let shown = false;
  return {
    active,
    update(done, total, note, force = false) {
      if (!active) return;
      const now = Date.now();
      if (!force && shown && now - last < 100) return;
      last = now;
      const width = Math.max(40, s.columns || 80);
      let line: string;
      if (total !== undefined && total !== null && total > 0) {
        const frac = Math.min(1, done / total);
        const barWidth = Math.max(10, Math.min(30, width - label.length - 40));
        const full = Math.round(frac * barWidth);
        line = `${label} [${'#'.repeat(full)}${'.'.repeat(barWidth - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${unit(done)}/${unit(total)}`;
      } else line = `${label} ${unit(done)}`;
      if (note) line += `  ${note}`;
      if (line.length > width - 1) line = line.slice(0, width - 1);
      s.write(`\r\x1b[K${line}`);
      shown = true;
    },
    clear() {
      if (active && shown) s.write('\r\x1b[K');
      shown = false;
    },
    end() {
      this.clear();
    },
  };
}
