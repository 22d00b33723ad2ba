// What the fake REST APIs (GitHub, GitLab) share: a loopback HTTP server that parses JSON or form
// bodies, records every request, can be scripted to fail the next calls, and answers JSON.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export abstract class FakeJsonApi {
  readonly calls: RecordedCall[] = [];
  /** Answer the next calls with this status (and body) instead of serving them. */
  readonly failNext: Reply[] = [];
  private server?: Server;

  protected abstract serve(call: RecordedCall): Reply;

  /** host: where to listen (a Pod on the real test node reaches only the bridge's address). */
  async start(host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, host, r));
    return `http://${host}:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage): Promise<Reply> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    let body: Record<string, unknown> = {};
    if (raw) body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
    const call: RecordedCall = { method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body };
    this.calls.push(call);
    const scripted = this.failNext.shift();
    if (scripted) return scripted;
    try {
      return this.serve(call);
    } catch (e) {
      return { status: 500, body: { message: (e as Error).message } };
    }
  }
}
