// One policy for every engine's model calls: which failures are an outage to ride out (429, 529,
// 5xx, no answer) and which are the request's own fault (400/401/403/404: fail fast, no retry storm),
// and how long to wait between tries. A stage that is still failing when the pool's window is spent
// ends with reason ModelUnavailable, which the loop core retries as a stage (core/retryable.ts).
import { MODEL_UNAVAILABLE } from '../../core/retryable.js';
import type { Transcript } from '../transcript.js';
import { apiFailure, reasonForStatus } from './api-errors.js';

export const DEFAULT_RETRY_WINDOW_SECONDS = 600;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/** What one failed attempt looked like. status undefined: no HTTP answer (reset, refused, timeout). */
export interface CallFailure {
  status?: number;
  retryAfterMs?: number;
  detail: string;
}

const TRANSIENT = new Set([408, 409, 429, 500, 501, 502, 503, 504, 529]);

export function isTransient(f: Pick<CallFailure, 'status'>): boolean {
  return f.status === undefined || TRANSIENT.has(f.status);
}

type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function header(h: HeaderSource, name: string): string | undefined {
  if (typeof (h as { get?: unknown }).get === 'function') return (h as { get(n: string): string | null }).get(name) ?? undefined;
  const v = (h as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The server's own wait: retry-after-ms, or retry-after in seconds or as an HTTP date. */
export function retryAfterMs(headers: HeaderSource | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && header(headers, 'retry-after-ms') !== undefined) return ms;
  const raw = header(headers, 'retry-after');
  if (raw === undefined || raw.trim() === '') return undefined;
  const s = Number(raw);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** The wait before retry number `retry` (from 0): the server's word, else 1 s doubling to 30 s with ±25% jitter. */
export function retryDelayMs(retry: number, serverMs: number | undefined, random: () => number = Math.random): number {
  if (serverMs !== undefined) return serverMs;
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** retry);
  return Math.round(base * (0.75 + 0.5 * random()));
}

export class ModelCallError extends Error {
  constructor(
    readonly failure: CallFailure,
    readonly transient: boolean,
    readonly attempts: number,
    readonly windowSeconds: number,
    /** What the last attempt threw. */
    cause?: unknown,
  ) {
    super(failure.detail, { cause });
  }
}

export interface RetryOptions {
  /** Seconds of transient failure to ride out (the pool's modelRetryWindow). */
  windowSeconds?: number;
  transcript?: Transcript;
  turn?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `attempt` until it resolves, fails for good, or transient failures have lasted the window.
 * A wait that would end past the window is cut to the window's end, so the last try comes on time.
 */
export async function callModel<T>(attempt: () => Promise<T>, toFailure: (e: unknown) => CallFailure, o: RetryOptions = {}): Promise<T> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? realSleep;
  const windowSeconds = o.windowSeconds ?? DEFAULT_RETRY_WINDOW_SECONDS;
  const giveUpAt = now() + windowSeconds * 1000;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const f = toFailure(e);
      const transient = isTransient(f);
      const left = giveUpAt - now();
      if (!transient || left <= 0) throw new ModelCallError(f, transient, n + 1, windowSeconds, e);
      const delayMs = Math.min(left, retryDelayMs(n, f.retryAfterMs, o.random));
      o.transcript?.log('model-retry', { turn: o.turn, attempt: n + 1, status: f.status ?? null, reason: reasonForStatus(f.status), delayMs, detail: f.detail.slice(0, 200) });
      await sleep(delayMs);
    }
  }
}

/** The stage's reason and summary for a call that failed for good. */
export function modelCallFailure(e: ModelCallError): { reason: string; summary: string } {
  const f = apiFailure(e.failure.status, e.failure.detail);
  if (!e.transient) return f;
  const what = e.failure.status === undefined ? 'no answer' : `HTTP ${e.failure.status}`;
  return {
    reason: MODEL_UNAVAILABLE,
    summary: `the model API was unavailable for the whole retry window (${e.windowSeconds}s, ${e.attempts} attempts, last: ${what} ${f.reason}); the loop retries the stage: ${f.summary}`,
  };
}
