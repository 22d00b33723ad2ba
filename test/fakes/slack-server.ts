// A fake Slack Web API on 127.0.0.1: accepts the form- or JSON-encoded calls WebClient makes,
// answers in Slack's envelope ({ok, ...} / {ok:false, error}), records every call, and can be
// scripted to rate-limit (429 + Retry-After) or reject the token.
//
// Socket Mode too: apps.connections.open (with the xapp- token) returns a ws:// URL on this server;
// the app's SocketModeClient connects, gets Slack's hello, and deliver() sends it an envelope
// (events_api, interactive, slash_commands) and resolves with the payload of the app's ack.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

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
  validAppToken = 'xapp-1-test-app-token';
  /** usergroups.users.list answers: group ID → member user IDs. */
  readonly userGroups = new Map<string, string[]>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private sockets: WebSocket[] = [];
  private readonly acks = new Map<string, (payload: unknown) => void>();
  private connectedWaiters: (() => void)[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req).then(({ status, headers, body }) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    }));
    this.server.on('upgrade', (req, socket, head) => {
      if (!(req.url ?? '').startsWith('/link')) return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    this.wss.close();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.push(ws);
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { envelope_id?: string; payload?: unknown };
      if (msg.envelope_id) this.acks.get(msg.envelope_id)?.(msg.payload ?? {});
    });
    ws.on('close', () => (this.sockets = this.sockets.filter((s) => s !== ws)));
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake', approximate_connection_time: 3600 }, connection_info: { app_id: 'A0AUTORUN' } }));
    for (const w of this.connectedWaiters.splice(0)) w();
  }

  /** Resolves once an app is connected over Socket Mode. */
  connected(): Promise<void> {
    if (this.sockets.some((s) => s.readyState === s.OPEN)) return Promise.resolve();
    return new Promise((r) => this.connectedWaiters.push(r));
  }

  /** Sends an envelope over the socket; resolves with the payload the app acked it with. */
  async deliver(type: 'events_api' | 'interactive' | 'slash_commands', payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.connected();
    const ws = this.sockets.find((s) => s.readyState === s.OPEN)!;
    const envelope_id = randomUUID();
    const acked = new Promise<Record<string, unknown>>((r) => this.acks.set(envelope_id, r as (p: unknown) => void));
    ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api' }));
    const out = await acked;
    this.acks.delete(envelope_id);
    return out;
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
    if (method === 'apps.connections.open') {
      if (token !== this.validAppToken) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
      const port = (this.server!.address() as AddressInfo).port;
      return { status: 200, body: { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${randomUUID()}` } };
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
      case 'chat.postEphemeral':
        return { status: 200, body: { ok: true, message_ts: ts } };
      case 'views.open':
        return { status: 200, body: { ok: true, view: { id: `V${this.seq}`, ...(typeof args.view === 'string' ? JSON.parse(args.view) : (args.view as object)) } } };
      case 'usergroups.users.list': {
        const users = this.userGroups.get(String(args.usergroup));
        return { status: 200, body: users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' } };
      }
      default:
        return { status: 200, body: { ok: false, error: 'unknown_method' } };
    }
  }
}
