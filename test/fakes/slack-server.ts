// A fake Slack Web API on 127.0.0.1: accepts the form- or JSON-encoded calls WebClient makes,
// answers in Slack's envelope ({ok, ...} / {ok:false, error}), records every call, and can be
// scripted to rate-limit (429 + Retry-After) or reject the token.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  token?: string;
  args: Record<string, unknown>;
}

export class FakeSlack {
  readonly calls: SlackCall[] = [];
  private server?: Server;
  private seq = 1000;
  /** Respond 429 to the next N calls. */
  rateLimitNext = 0;
  validToken = 'xoxb-test-token';

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req).then(({ status, headers, body }) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    }));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; headers?: Record<string, string>; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const args: Record<string, unknown> = (req.headers['content-type'] ?? '').includes('json')
      ? (JSON.parse(raw || '{}') as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(raw));
    for (const k of ['blocks', 'attachments']) {
      if (typeof args[k] === 'string') args[k] = JSON.parse(args[k] as string);
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || (args.token as string | undefined);
    this.calls.push({ method, token, args });
    if (this.rateLimitNext > 0) {
      this.rateLimitNext--;
      return { status: 429, headers: { 'retry-after': '0' }, body: { ok: false, error: 'ratelimited' } };
    }
    if (token !== this.validToken) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.seq++).padStart(6, '0')}`;
    switch (method) {
      case 'auth.test':
        return { status: 200, body: { ok: true, user_id: 'UBOT', team_id: 'T1', bot_id: 'B1' } };
      case 'chat.postMessage':
        return { status: 200, body: { ok: true, channel: args.channel, ts, message: { text: args.text, ts } } };
      case 'chat.update':
        return { status: 200, body: { ok: true, channel: args.channel, ts: args.ts, text: args.text } };
      default:
        return { status: 200, body: { ok: false, error: 'unknown_method' } };
    }
  }
}
