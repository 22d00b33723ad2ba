// Stage outcomes that say "not now" rather than "cannot": the loop retries them as a stage with
// backoff instead of ending the task, for as long as the task's own limits (timeout, cost) allow.
import type { StageRecord } from './records.js';

/** The model API stayed unavailable (429, 529, 5xx, no answer) for the pool's whole retry window. */
export const MODEL_UNAVAILABLE = 'ModelUnavailable';

const RETRYABLE_AGENT_REASONS: ReadonlySet<string> = new Set([MODEL_UNAVAILABLE]);

/** An agent Error that is an outage, not a verdict: it neither ends the task nor uses up maxAttempts. */
export function isOutage(r: Pick<StageRecord, 'state' | 'reason'>): boolean {
  return r.state === 'Error' && r.reason !== undefined && RETRYABLE_AGENT_REASONS.has(r.reason);
}
