/**
 * The console reads through the API itself, in process: a page asks
 * `GET /api/...` of the same Koa app with the credential its login holds
 * (the API key for an operator, the viewer key for a viewer), so a page
 * shows exactly what the API answers, under the same checks, and the
 * console has no read path of its own. It never sends anything but GET:
 * changes come from the browser, through the API, with the CSRF token.
 */
import { inject } from 'light-my-request';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, type ErrorKind } from '../errors.js';

export interface ConsoleApi {
  get<T = unknown>(path: string, query?: Record<string, string | number | boolean | undefined | null>): Promise<T>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function consoleApi(handler: () => Handler, credential: string | null): ConsoleApi {
  return {
    async get<T>(path: string, query: Record<string, string | number | boolean | undefined | null> = {}): Promise<T> {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
      const url = q.size ? `${path}?${q}` : path;
      const r = await inject(handler(), { method: 'GET', url, headers: credential ? { authorization: `Bearer ${credential}` } : {}, remoteAddress: '127.0.0.1' });
      let body: unknown = r.body;
      if (String(r.headers['content-type'] ?? '').includes('json')) body = JSON.parse(r.body);
      if (r.statusCode >= 400) {
        const e = body as { error?: string; message?: string; detail?: unknown } | null;
        throw new AppError((e?.error as ErrorKind) ?? 'internal', e?.message ?? `GET ${path}: ${r.statusCode}`, { detail: e?.detail });
      }
      return body as T;
    },
  };
}
