/**
 * A loopback server speaking the Anthropic Messages API (POST /v1/messages)
 * to the real @anthropic-ai/sdk, with scripted replies.
 *
 * Contract:
 * - Each request takes the next scripted reply (`script`); when the script is
 *   spent, `respond(request)` (a reply computed from the prompt) or `fallback`. Replies: a tool_use with a given input, plain
 *   text, a 200 with malformed JSON, an HTTP error status (429 with
 *   retry-after, 529 overloaded, 500, 401...), or a hang that never answers
 *   (the client's timeout ends it).
 * - Every request is recorded (raw and parsed body, Authorization and
 *   x-api-key headers) for assertions; both auth styles are accepted (SDK 1.x
 *   sends Bearer, 0.x sent x-api-key). A request without either gets 401.
 * - Usage is counted as the real API would report it, roughly: input tokens
 *   = body characters / 4, output tokens = reply content characters / 4.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ScriptedReply =
  | { kind: 'tool'; input: unknown; name?: string; model?: string }
  | { kind: 'text'; text: string }
  | { kind: 'malformed' }
  | { kind: 'status'; status: number; retryAfter?: string; errorType?: string }
  | { kind: 'hang' };

export interface RecordedRequest {
  method: string;
  path: string;
  rawBody: string;
  /** The parsed JSON body (null when it did not parse). */
  body: { model?: string; system?: unknown; messages?: { role: string; content: unknown }[]; tools?: unknown[]; tool_choice?: unknown; max_tokens?: number } | null;
  authorization: string | undefined;
  apiKey: string | undefined;
  at: number;
}

export interface FakeAnthropic {
  /** Base URL to give the SDK (`baseURL`). */
  url: string;
  requests: RecordedRequest[];
  /** Appends scripted replies. */
  push(...replies: ScriptedReply[]): void;
  /** Token totals reported so far. */
  usage: { input: number; output: number };
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error',
};

export async function startFakeAnthropic(opts: { script?: ScriptedReply[]; fallback?: ScriptedReply; respond?: (req: RecordedRequest) => ScriptedReply } = {}): Promise<FakeAnthropic> {
  const script = [...(opts.script ?? [])];
  const requests: RecordedRequest[] = [];
  const usage = { input: 0, output: 0 };
  const sockets = new Set<Socket>();
  let n = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: RecordedRequest['body'] = null;
      try { body = JSON.parse(rawBody); } catch { body = null; }
      const header = (h: string) => { const v = req.headers[h]; return Array.isArray(v) ? v[0] : v; };
      requests.push({
        method: req.method ?? '', path: req.url ?? '', rawBody, body,
        authorization: header('authorization'), apiKey: header('x-api-key'), at: Date.now(),
      });
      const json = (status: number, obj: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${n}`, ...headers });
        res.end(JSON.stringify(obj));
      };
      const error = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
        json(status, { type: 'error', error: { type, message } }, headers);

      if (req.method !== 'POST' || !(req.url ?? '').startsWith('/v1/messages')) return error(404, 'not_found_error', 'no such route');
      if (!header('authorization')?.startsWith('Bearer ') && !header('x-api-key')) return error(401, 'authentication_error', 'no key');
      const reply = script.shift() ?? opts.respond?.(requests[requests.length - 1]!) ?? opts.fallback ?? { kind: 'status', status: 500 };
      n += 1;
      const inTok = Math.ceil(rawBody.length / 4);
      const message = (content: unknown[], stop: string, model?: string) => {
        const outTok = Math.ceil(JSON.stringify(content).length / 4);
        usage.input += inTok;
        usage.output += outTok;
        json(200, {
          id: `msg_${n}`, type: 'message', role: 'assistant', model: model ?? body?.model ?? 'm', content,
          stop_reason: stop, stop_sequence: null, usage: { input_tokens: inTok, output_tokens: outTok },
        });
      };
      switch (reply.kind) {
        case 'tool':
          return message([{ type: 'tool_use', id: `toolu_${n}`, name: reply.name ?? 'report_analysis', input: reply.input }], 'tool_use', reply.model);
        case 'text':
          return message([{ type: 'text', text: reply.text }], 'end_turn');
        case 'malformed':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{"id":"msg_x","type":"message","content":[{"type":"tool_use","input":{"summary":');
        case 'status': {
          const h: Record<string, string> = reply.retryAfter !== undefined ? { 'retry-after': reply.retryAfter } : {};
          return error(reply.status, reply.errorType ?? ERROR_TYPES[reply.status] ?? 'api_error', `scripted ${reply.status}`, h);
        }
        case 'hang':
          return; // never answer; the client times out
      }
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    usage,
    push: (...r) => { script.push(...r); },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
