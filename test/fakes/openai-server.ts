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
  body: { model: string; messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }[]; tools?: unknown[] };
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

export async function startFakeOpenAI(script: OpenAIReply[] | ((req: OpenAIRequest, i: number) => OpenAIReply)): Promise<FakeOpenAI> {
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
      try {
        reply = queue ? queue.shift() : (script as (r: OpenAIRequest, i: number) => OpenAIReply)(rec, requests.length - 1);
      } catch (e) {
        // A script that refuses a request fails that request, not the test process.
        reply = { kind: 'error', status: 500, message: `fake script threw: ${(e as Error).message}` };
      }
      reply ??= { kind: 'error', status: 500, message: 'fake script has no reply' };
      if (reply.kind === 'error') {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(JSON.stringify({ error: { message: reply.message, type: 'error', code: reply.status } }));
        return;
      }
      const calls = (reply.toolCalls ?? []).map((c) => ({ id: `call_${++n}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${++n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: rec.body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply.content ?? null, ...(calls.length ? { tool_calls: calls } : {}) }, finish_reason: calls.length ? 'tool_calls' : 'stop' }],
          usage: { ...(reply.usage ?? { prompt_tokens: 50, completion_tokens: 10 }), total_tokens: 0 },
        }),
      );
    });
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
