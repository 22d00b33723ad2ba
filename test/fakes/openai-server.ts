// A fake OpenAI-compatible chat completions server (the shape vLLM serves) on 127.0.0.1:<random>,
// scripted like the fake Anthropic server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OpenAIReply =
  | { kind: 'message'; content?: string; toolCalls?: { name: string; arguments: Record<string, unknown> }[]; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { kind: 'error'; status: number; message: string; headers?: Record<string, string> };

export interface OpenAIRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: {
    model: string;
    messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
    tools?: unknown[];
    tool_choice?: unknown;
    response_format?: unknown;
    max_tokens?: number;
    stream?: boolean;
  };
}

/**
 * llamaCppPython: behave as llama-cpp-python 0.3's server did against autorun: a message with
 * content null is a 500 carrying a pydantic validation error, and with chatml-function-calling the
 * tools are dropped from the prompt unless tool_choice is sent (the model then answers in text).
 * delayMs: wait before answering (request timeouts).
 */
export interface FakeOpenAIOptions {
  llamaCppPython?: boolean;
  delayMs?: number;
}

export interface FakeOpenAI {
  /** Base URL including /v1, as vLLM's is given. */
  url: string;
  requests: OpenAIRequest[];
  close(): Promise<void>;
}

export const chatText = (content: string): OpenAIReply => ({ kind: 'message', content });
export const chatTool = (name: string, args: Record<string, unknown>): OpenAIReply => ({ kind: 'message', content: '', toolCalls: [{ name, arguments: args }] });

let n = 0;

export async function startFakeOpenAI(script: OpenAIReply[] | ((req: OpenAIRequest, i: number) => OpenAIReply), opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: OpenAIRequest[] = [];
  const queue = Array.isArray(script) ? [...script] : undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const rec: OpenAIRequest = { path: req.url, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OpenAIRequest['body'] };
      requests.push(rec);
      let reply: OpenAIReply | undefined;
      const nullAt = rec.body.messages.findIndex((m) => m.content === null);
      if (opts.llamaCppPython && nullAt >= 0) {
        reply = { kind: 'error', status: 500, message: `1 validation error for ChatCompletionRequestAssistantMessage\nmessages.${nullAt}.content\n  Input should be a valid string [type=string_type, input_value=None, input_type=NoneType]` };
      } else if (opts.llamaCppPython && rec.body.tools?.length && rec.body.tool_choice === undefined) {
        reply = { kind: 'message', content: 'I would write the file with ```json {"path": "a.py"}```' };
      } else {
        try {
          reply = queue ? queue.shift() : (script as (r: OpenAIRequest, i: number) => OpenAIReply)(rec, requests.length - 1);
        } catch (e) {
          // A script that refuses a request fails that request, not the test process.
          reply = { kind: 'error', status: 500, message: `fake script threw: ${(e as Error).message}` };
        }
      }
      reply ??= { kind: 'error', status: 500, message: 'fake script has no reply' };
      if (opts.delayMs) {
        const r = reply;
        setTimeout(() => answer(rec, r), opts.delayMs);
        return;
      }
      answer(rec, reply);
    });
    const answer = (rec: OpenAIRequest, reply: OpenAIReply): void => {
      if (reply.kind === 'error') {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify({ error: { message: reply.message, type: 'error', code: reply.status } }));
        return;
      }
      const calls = (reply.toolCalls ?? []).map((c) => ({ id: `call_${++n}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
      const usage = { ...(reply.usage ?? { prompt_tokens: 50, completion_tokens: 10 }), total_tokens: 0 };
      if (rec.body.stream) {
        // As vLLM streams: content in pieces, each tool call's arguments split over two deltas, usage last.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const send = (o: unknown): boolean => res.write(`data: ${JSON.stringify(o)}\n\n`);
        const content = reply.content ?? '';
        for (let i = 0; i < content.length; i += 8) send({ choices: [{ index: 0, delta: { content: content.slice(i, i + 8) }, finish_reason: null }] });
        calls.forEach((c, index) => {
          const a = c.function.arguments;
          const half = Math.floor(a.length / 2);
          send({ choices: [{ index: 0, delta: { tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: a.slice(0, half) } }] }, finish_reason: null }] });
          send({ choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: a.slice(half) } }] }, finish_reason: null }] });
        });
        send({ choices: [{ index: 0, delta: {}, finish_reason: calls.length ? 'tool_calls' : 'stop' }] });
        send({ choices: [], usage });
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${++n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: rec.body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply.content ?? null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: calls.length ? 'tool_calls' : 'stop' }],
          usage,
        }),
      );
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
