/**
 * A sleep that can be cut short: for loops that wait between attempts (a
 * reconnect's back-off, a leader's tick) and must end the wait at once when
 * they are stopped or have work. `cut()` ends the sleep in progress, if any.
 */
export interface Sleeper {
  sleep(ms: number): Promise<void>;
  cut(): void;
}

export function sleeper(): Sleeper {
  let cut: (() => void) | null = null;
  return {
    sleep: (ms) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        cut = () => {
          clearTimeout(t);
          r();
        };
      }),
    cut: () => cut?.(),
  };
}
