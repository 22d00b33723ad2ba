// A strict stage's budget for Claude Code. Claude Code checks --max-budget-usd only after each model
// call, which lets a stage pass its share by one call; a strict stage may not (engines/budget.ts). So
// its Claude Code talks to the model through this loopback gate, which relays every request and
// response unchanged, counts what each response bills, and answers a request whose worst case no
// longer fits what is left with HTTP 400 before it reaches the API: nothing is billed for it, and
// the session ends. The worst case of a request: its bytes plus TEMPLATE_TOKENS of input (Claude
// Code's requests are not append-only, so the bytes of the whole request, not a delta), at the
// dearest input rate, and its max_tokens of output; calls still in flight count at their worst case.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { costUSD, priceOf, type TokenCounts } from '../pricing.js';
import { TEMPLATE_TOKENS } from './budget.js';

export interface BudgetGate {
  /** Base URL for Claude Code (ANTHROPIC_BASE_URL or ANTHROPIC_VERTEX_BASE_URL). */
  url: string;
  /** Why a request was refused, once one was. */
  refused?: string;
  /** Dollars billed by the responses relayed so far. */
  spentUSD: number;
  close(): Promise<void>;
}

/** The model a request is for: the body's (Messages API) or the path's (Vertex `models/M:rawPredict`). */
function modelOf(path: string, body: { model?: unknown }): string {
  if (typeof body.model === 'string') return body.model;
  return /\/models\/([^/:]+)/.exec(path)?.[1] ?? '';
}

export function worstCaseUSD(model: string, bytes: number, maxTokens: number): number {
  const p = priceOf(model).price;
  return Math.ceil((bytes + TEMPLATE_TOKENS) * Math.max(p.input, p.cacheWrite) + maxTokens * p.output) / 1e6;
}

/** The usage a Messages response reports: the JSON body's, or message_start + the last message_delta of a stream. */
export function usageOfResponse(text: string): TokenCounts | undefined {
  type U = { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  const of = (u: U): TokenCounts => ({ inputTokens: u.input_tokens ?? 0, outputTokens: u.output_tokens ?? 0, cacheReadTokens: u.cache_read_input_tokens ?? 0, cacheWriteTokens: u.cache_creation_input_tokens ?? 0 });
  try {
    const whole = JSON.parse(text) as { usage?: U };
    return whole.usage ? of(whole.usage) : undefined;
  } catch {
    // a stream
  }
  let usage: U | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    let ev: { type?: string; message?: { usage?: U }; usage?: U };
    try {
      ev = JSON.parse(line.slice(5)) as typeof ev;
    } catch {
      continue;
    }
    if (ev.type === 'message_start' && ev.message?.usage) usage = { ...ev.message.usage };
    // message_delta's counts are cumulative; it may restate the input counts.
    if (ev.type === 'message_delta' && ev.usage) usage = { ...usage, ...Object.fromEntries(Object.entries(ev.usage).filter(([, v]) => typeof v === 'number')) };
  }
  return usage ? of(usage) : undefined;
}

export async function startBudgetGate(upstream: string, budgetUSD: number): Promise<BudgetGate> {
  const target = new URL(upstream);
  const base = target.pathname.replace(/\/+$/, '');
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  let reserved = 0;
  const gate: BudgetGate = { url: '', spentUSD: 0, close: async () => undefined };

  const relay = (req: IncomingMessage, res: ServerResponse, body: Buffer, onDone?: (text: string) => void): void => {
    // Uncompressed, so the gate can read each response's usage (Claude Code takes either).
    const headers = { ...req.headers, host: target.host, 'accept-encoding': 'identity' };
    delete headers['content-length'];
    const up = send(
      { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: base + (req.url ?? '/'), headers: { ...headers, 'content-length': String(body.length) } },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => {
          if (onDone) chunks.push(c);
          res.write(c);
        });
        ur.on('end', () => {
          res.end();
          onDone?.(ur.statusCode === 200 ? Buffer.concat(chunks).toString('utf8') : '');
        });
        ur.on('error', () => {
          res.destroy();
          onDone?.('');
        });
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `budget gate: ${e.message}` } }));
      onDone?.('');
    });
    up.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const isCall = req.method === 'POST' && (/\/v1\/messages(\?|$)/.test(path) || /:(stream)?rawPredict/.test(path));
      if (!isCall) return relay(req, res, body);
      let parsed: { model?: unknown; max_tokens?: unknown } = {};
      try {
        parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
      } catch {
        // The API says what is wrong with it.
      }
      const model = modelOf(path, parsed);
      const worst = worstCaseUSD(model, body.length, typeof parsed.max_tokens === 'number' ? parsed.max_tokens : 0);
      if (gate.spentUSD + reserved + worst > budgetUSD) {
        const left = Math.max(0, budgetUSD - gate.spentUSD - reserved);
        gate.refused ??= `the next model call could cost up to $${worst.toFixed(4)} and the stage has $${left.toFixed(4)} of its $${budgetUSD} budget left`;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: `autorun: ${gate.refused}` } }));
        return;
      }
      reserved += worst;
      relay(req, res, body, (text) => {
        reserved -= worst;
        const u = text ? usageOfResponse(text) : undefined;
        if (u) gate.spentUSD += costUSD(model, u);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gate.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return gate;
}
