// A fake Anthropic Messages API on 127.0.0.1:<random port> with the real wire format, for driving
// the real SDK and the real Claude Code CLI offline. Scripted per test: a queue of replies or a
// function of the request; every request is recorded for assertions.
//
//   const fake = await startFakeAnthropic([toolUse('write_file', {path: 'a.py', content: '...'}), text('done')]);
//   process.env.ANTHROPIC_BASE_URL = fake.url;  ...  fake.requests[1].body.messages  ...  await fake.close();
//
// It also answers Claude on Vertex AI (POST {fake.url}/v1/projects/P/locations/R/publishers/anthropic/
// models/M:streamRawPredict or :rawPredict): the same replies, the model taken from the path.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export type FakeBlock = { type: 'text'; text: string } | { type: 'tool_use'; id?: string; name: string; input: Record<string, unknown> };

export type FakeReply =
  | { kind: 'message'; content: FakeBlock[]; stop_reason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence'; usage?: Partial<FakeUsage>; model?: string }
  | { kind: 'error'; status: number; type: string; message: string; headers?: Record<string, string> }
  /** Accepts the request and never answers (for client timeouts). */
  | { kind: 'hang' };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined for HEAD/GET). Vertex bodies carry anthropic_version, not model. */
  body: MessagesBody;
  /** Set for a Vertex AI request: the parts of its path. */
  vertex?: VertexPath;
}

export interface VertexPath {
  project: string;
  region: string;
  model: string;
  method: 'streamRawPredict' | 'rawPredict';
}

const VERTEX_PATH = /^(?:\/v1)?\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/anthropic\/models\/([^/:]+):(streamRawPredict|rawPredict)$/;

export function parseVertexPath(path: string): VertexPath | undefined {
  const m = VERTEX_PATH.exec(path.split('?')[0]!);
  if (!m) return undefined;
  const d = (s: string): string => decodeURIComponent(s);
  return { project: d(m[1]!), region: d(m[2]!), model: d(m[3]!), method: m[4] as VertexPath['method'] };
}

/** The parts of a Messages request tests look at. */
export interface MessagesBody {
  model: string;
  max_tokens: number;
  stream?: boolean;
  system?: string | { type: string; text: string; cache_control?: unknown }[];
  tools?: { name: string; cache_control?: unknown; [k: string]: unknown }[];
  messages: { role: 'user' | 'assistant'; content: string | ({ type: string; [k: string]: unknown })[] }[];
  [k: string]: unknown;
}

export type Script = FakeReply[] | ((req: RecordedRequest, index: number) => FakeReply);

export interface FakeAnthropic {
  /** Base URL for ANTHROPIC_BASE_URL / baseURL (no trailing slash). */
  url: string;
  /** Requests to /v1/messages and the Vertex predict paths, in arrival order. */
  requests: RecordedRequest[];
  /**
   * What the "API" billed: the usage of every message it delivered in full, per model. An error,
   * a hang or a reply cut off by the client bills nothing, as the tests assume of the real API.
   */
  billed: Map<string, FakeUsage & { messages: number }>;
  close(): Promise<void>;
}

// ---- reply builders --------------------------------------------------------------------------

export const DEFAULT_USAGE: FakeUsage = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

export function text(t: string, usage?: Partial<FakeUsage>): FakeReply {
  return { kind: 'message', content: [{ type: 'text', text: t }], stop_reason: 'end_turn', usage };
}

export function toolUse(name: string, input: Record<string, unknown>, opts: { text?: string; id?: string; usage?: Partial<FakeUsage> } = {}): FakeReply {
  const content: FakeBlock[] = opts.text ? [{ type: 'text', text: opts.text }] : [];
  content.push({ type: 'tool_use', name, input, id: opts.id });
  return { kind: 'message', content, stop_reason: 'tool_use', usage: opts.usage };
}

/** The API's error JSON {type:"error", error:{type, message}} with the given status. */
export function apiError(status: number, message?: string, headers?: Record<string, string>): FakeReply {
  const type =
    {
      400: 'invalid_request_error',
      401: 'authentication_error',
      403: 'permission_error',
      404: 'not_found_error',
      413: 'request_too_large',
      429: 'rate_limit_error',
      500: 'api_error',
      529: 'overloaded_error',
    }[status] ?? 'api_error';
  return { kind: 'error', status, type, message: message ?? type.replace(/_/g, ' '), headers };
}

// ---- helpers for scripted functions ------------------------------------------------------------

/** The tool_result blocks of the request's last user message. */
export function toolResults(req: RecordedRequest): { tool_use_id: string; content: unknown; is_error?: boolean }[] {
  const last = req.body.messages[req.body.messages.length - 1];
  if (!last || typeof last.content === 'string') return [];
  return last.content.filter((b) => b.type === 'tool_result') as unknown as { tool_use_id: string; content: unknown; is_error?: boolean }[];
}

/** The system prompt as one string. */
export function systemText(req: RecordedRequest): string {
  const s = req.body.system;
  return typeof s === 'string' ? s : (s ?? []).map((b) => b.text).join('\n');
}

/** All text the request carries in its messages (prompts and tool results). */
export function messagesText(req: RecordedRequest): string {
  return req.body.messages
    .map((m) =>
      typeof m.content === 'string'
        ? m.content
        : m.content.map((b) => (typeof b.text === 'string' ? b.text : typeof b.content === 'string' ? b.content : JSON.stringify(b.content ?? ''))).join('\n'),
    )
    .join('\n');
}

// ---- the server --------------------------------------------------------------------------------

let idCounter = 0;
const newId = (prefix: string): string => `${prefix}_fake${(++idCounter).toString(36).padStart(8, '0')}`;

function messageObject(reply: Extract<FakeReply, { kind: 'message' }>, model: string) {
  const usage = { ...DEFAULT_USAGE, ...reply.usage };
  const content: ({ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> })[] = reply.content.map((b) =>
    b.type === 'tool_use' ? { type: 'tool_use', id: b.id ?? newId('toolu'), name: b.name, input: b.input } : b,
  );
  return {
    id: newId('msg'),
    type: 'message',
    role: 'assistant',
    model: reply.model ?? model,
    content,
    stop_reason: reply.stop_reason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage,
  };
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** Splits a string into n roughly equal parts, so deltas arrive in several pieces as they do for real. */
function pieces(s: string, n = 3): string[] {
  if (s.length < n * 2) return [s];
  const size = Math.ceil(s.length / n);
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

function streamMessage(res: ServerResponse, msg: ReturnType<typeof messageObject>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': newId('req') });
  const { usage } = msg;
  sse(res, 'message_start', {
    type: 'message_start',
    message: { ...msg, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
  });
  sse(res, 'ping', { type: 'ping' });
  msg.content.forEach((block, index) => {
    if (block.type === 'text') {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      for (const p of pieces(block.text)) sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: p } });
    } else {
      sse(res, 'content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      for (const p of pieces(JSON.stringify(block.input))) sse(res, 'content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: p } });
    }
    sse(res, 'content_block_stop', { type: 'content_block_stop', index });
  });
  sse(res, 'message_delta', { type: 'message_delta', delta: { stop_reason: msg.stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** host: where to listen (a Pod on the real test node reaches only the bridge's address). */
export async function startFakeAnthropic(script: Script, host = '127.0.0.1'): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const billed = new Map<string, FakeUsage & { messages: number }>();
  const queue = Array.isArray(script) ? [...script] : undefined;
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    void (async () => {
      const path = req.url ?? '/';
      const raw = await readBody(req);
      const vertex = parseVertexPath(path);
      if (req.method !== 'POST' || (!vertex && (!path.startsWith('/v1/messages') || path.startsWith('/v1/messages/count_tokens')))) {
        // Claude Code probes HEAD / first; anything else that is not a message gets an empty 200/404.
        res.writeHead(req.method === 'HEAD' || path === '/' ? 200 : 404, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : path.startsWith('/v1/messages/count_tokens') ? JSON.stringify({ input_tokens: 100 }) : '{}');
        return;
      }
      let body: MessagesBody;
      try {
        body = JSON.parse(raw) as MessagesBody;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'body is not JSON' } }));
        return;
      }
      // Vertex takes the API version from the body only and refuses a request without it.
      if (vertex && !body.anthropic_version) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic_version: Field required' } }));
        return;
      }
      const rec: RecordedRequest = { method: req.method, path, headers: req.headers, body, ...(vertex ? { vertex } : {}) };
      const index = requests.length;
      requests.push(rec);
      let reply: FakeReply | undefined;
      try {
        reply = queue ? queue.shift() : (script as (r: RecordedRequest, i: number) => FakeReply)(rec, index);
      } catch (e) {
        reply = { kind: 'error', status: 500, type: 'api_error', message: `fake script threw: ${(e as Error).message}` };
      }
      reply ??= { kind: 'error', status: 500, type: 'api_error', message: `fake script has no reply for request ${index}` };
      if (reply.kind === 'hang') {
        hanging.add(res);
        return;
      }
      if (reply.kind === 'error') {
        res.writeHead(reply.status, { 'content-type': 'application/json', 'request-id': newId('req'), ...reply.headers });
        res.end(JSON.stringify({ type: 'error', error: { type: reply.type, message: reply.message } }));
        return;
      }
      const msg = messageObject(reply, vertex?.model ?? body.model);
      res.once('finish', () => {
        const b = billed.get(msg.model) ?? { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, messages: 0 };
        b.input_tokens += msg.usage.input_tokens;
        b.output_tokens += msg.usage.output_tokens;
        b.cache_creation_input_tokens! += msg.usage.cache_creation_input_tokens ?? 0;
        b.cache_read_input_tokens! += msg.usage.cache_read_input_tokens ?? 0;
        b.messages++;
        billed.set(msg.model, b);
      });
      if (body.stream) streamMessage(res, msg);
      else {
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': newId('req') });
        res.end(JSON.stringify(msg));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    billed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The dollars the fake billed, at autorun's own price table (the real API prices the same tokens). */
export function billedUSD(fake: Pick<FakeAnthropic, 'billed'>, price: (model: string, t: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }) => number): number {
  let total = 0;
  for (const [model, b] of fake.billed) {
    total += price(model, { inputTokens: b.input_tokens, outputTokens: b.output_tokens, cacheReadTokens: b.cache_read_input_tokens ?? 0, cacheWriteTokens: b.cache_creation_input_tokens ?? 0 });
  }
  return total;
}
