// What a reconcile asks of the worker that ran it, as controller-runtime's reconcile.Result and
// reconcile.TerminalError do: the reconcile decides, the worker (controller.ts) does the queueing.
// - a Result with requeueAfterMs: reconcile this key again after that long (the core's RequeueAt,
//   a pool status write held back); the key's failure backoff is forgotten;
// - a Result without: done until an event brings the key back;
// - a thrown error: retried with the key's exponential backoff (a stale cache, an apiserver error);
// - a thrown TerminalError: not retried (retrying cannot help: a malformed key, a decision the
//   shell cannot carry out); logged and counted, and the next event of the object tries again.

export interface Result {
  requeueAfterMs?: number;
}

export const DONE: Result = Object.freeze({});

export function requeueAfter(ms: number): Result {
  return { requeueAfterMs: Math.max(0, ms) };
}

/** The earlier of two requests (undefined: none). */
export function sooner(a: Result, b: Result): Result {
  if (a.requeueAfterMs === undefined) return b;
  if (b.requeueAfterMs === undefined) return a;
  return a.requeueAfterMs <= b.requeueAfterMs ? a : b;
}

export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** What the worker does with a reconcile's outcome; a pure rule, so it is tested alone. */
export type Disposition = { kind: 'forget' } | { kind: 'requeueAfter'; ms: number } | { kind: 'backoff' } | { kind: 'drop' };

export function disposition(outcome: { result: Result } | { error: unknown }): Disposition {
  if ('result' in outcome) return outcome.result.requeueAfterMs === undefined ? { kind: 'forget' } : { kind: 'requeueAfter', ms: outcome.result.requeueAfterMs };
  return outcome.error instanceof TerminalError ? { kind: 'drop' } : { kind: 'backoff' };
}
