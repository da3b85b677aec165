/**
 * A small typed event bus. Contract: `emit` calls every listener of the
 * event in the order they subscribed; each listener is isolated, so one that
 * throws (or whose promise rejects) is logged with its name and never stops
 * the others or the emitter. Listeners run synchronously up to their first
 * `await`; the bus does not wait for them.
 */
import type { Logger } from './log.js';
import { describe } from './errors.js';

type Listener<P> = (payload: P) => unknown;

export interface EventBus<E extends Record<string, unknown>> {
  on<K extends keyof E>(event: K, name: string, listener: Listener<E[K]>): void;
  emit<K extends keyof E>(event: K, payload: E[K]): void;
}

export function createEventBus<E extends Record<string, unknown>>(log: Logger): EventBus<E> {
  const listeners = new Map<keyof E, { name: string; fn: Listener<never> }[]>();
  const failed = (event: keyof E, name: string, e: unknown) => log.error(`${String(event)} listener failed: ${name}`, { listener: name, error: describe(e) });
  return {
    on(event, name, fn) {
      const list = listeners.get(event) ?? [];
      list.push({ name, fn: fn as Listener<never> });
      listeners.set(event, list);
    },
    emit(event, payload) {
      for (const l of listeners.get(event) ?? []) {
        try {
          const r = (l.fn as Listener<typeof payload>)(payload);
          if (r instanceof Promise) r.catch((e: unknown) => failed(event, l.name, e));
        } catch (e) {
          failed(event, l.name, e);
        }
      }
    },
  };
}
