// Stage outcomes that say "not now" rather than "cannot": the loop retries them as a stage with
// backoff instead of ending the task, for as long as the task's own limits (timeout, cost) allow.
import type { StageRecord } from './records.js';

/** The model API stayed unavailable (429, 529, 5xx, no answer) for the pool's whole retry window. */
export const MODEL_UNAVAILABLE = 'ModelUnavailable';

/** The agent was stopped (SIGTERM: the task ended, Ctrl-C, the Pod deleted) and wrote what it had spent. */
export const STOPPED = 'Stopped';

const RETRYABLE_AGENT_REASONS: ReadonlySet<string> = new Set([MODEL_UNAVAILABLE]);

/** An agent Error that is no verdict on the task: an outage, or the agent being stopped. */
export function isInterruption(r: Pick<StageRecord, 'state' | 'reason'>): boolean {
  return r.state === 'Error' && (r.reason === STOPPED || isOutage(r));
}

/** An agent Error that is an outage, not a verdict: it neither ends the task nor uses up maxAttempts. */
export function isOutage(r: Pick<StageRecord, 'state' | 'reason'>): boolean {
  return r.state === 'Error' && r.reason !== undefined && RETRYABLE_AGENT_REASONS.has(r.reason);
}
