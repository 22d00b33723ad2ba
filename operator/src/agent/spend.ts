// What this agent process has spent on the model so far, kept where the stop handler can read it:
// a stage stopped mid-work (its task ended, Ctrl-C, the Pod deleted) still reports its money, so the
// task's cost is what the model API billed.
import type { Usage } from '../api/types.js';

let spent: Usage | undefined;

/** The engine's running total after each model call (it replaces the last one). */
export function noteSpend(total: Usage): void {
  spent = { ...total };
}

export function spentSoFar(): Usage | undefined {
  return spent && (spent.costUSD > 0 || spent.inputTokens > 0 || spent.outputTokens > 0) ? { ...spent } : undefined;
}
