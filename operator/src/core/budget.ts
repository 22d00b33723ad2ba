// The money a model stage may spend, so that the cap holds for the task and not per stage: stages
// that run side by side (code ∥ test) split what is left between them, and a retry of a stage draws
// on what its earlier attempts left of the same share. A function of the records alone, so a
// re-issued StartStage (cache lag, a restarted shell) hands the same stage the same budget.
//
// The bound: spend over all stages ≤ maxCostUSD + one model call. A stage may pass its budget by the
// call that takes it over (it checks after each call); of a group of parallel stages only one — the
// code stage — may do so: the others are strict (stageBudgetStrict), checking the worst case of each
// call before making it (agent/engines/budget.ts), so they never pass their share. The shares of a
// group sum to what was left, and every later stage is handed only what is left after all earlier
// spend (nothing once the cap is passed), so no two overshoots ever add up.
import type { CodingTaskSpec } from '../api/types.js';
import { costOfRecords } from './cost.js';
import { maxCostOf } from './limits.js';
import type { StageRecord } from './records.js';
import type { StageKey } from './types.js';

const LLM: ReadonlySet<string> = new Set(['code', 'test', 'repair']);

/** The roles that share one budget with this stage: code and test when they run in the same iteration. */
function sharers(records: readonly StageRecord[], key: StageKey): Set<string> {
  const here = new Set(records.filter((r) => r.iteration === key.iteration && LLM.has(r.role)).map((r) => r.role));
  return key.role !== 'repair' && here.has('code') && here.has('test') ? new Set(['code', 'test']) : new Set([key.role]);
}

/** Dollars the stage may spend on the model; undefined for roles that call none. Never negative. */
export function stageBudgetUSD(spec: CodingTaskSpec, records: readonly StageRecord[], key: StageKey, gpuHourUSD: number): number | undefined {
  if (!LLM.has(key.role)) return undefined;
  const group = sharers(records, key);
  const inGroup = (r: StageRecord): boolean => r.iteration === key.iteration && group.has(r.role);
  const outside = costOfRecords(records.filter((r) => !inGroup(r)), gpuHourUSD).totalUSD;
  const share = (maxCostOf(spec) - outside) / group.size;
  const earlier = costOfRecords(records.filter((r) => inGroup(r) && r.role === key.role && r.attempt < key.attempt), gpuHourUSD).totalUSD;
  // Rounded down: a budget rounded up could let the stages together pass the cap.
  // (The 1e-9 keeps float noise such as 0.39999999 from costing a whole step.)
  return Math.max(0, Math.floor((share - earlier) * 10_000 + 1e-9) / 10_000);
}

/**
 * Whether the stage must check each call's worst case before making it: every stage of a parallel
 * group but one (code, the group's lenient stage). A stage alone is lenient: it has the whole rest.
 */
export function stageBudgetStrict(records: readonly StageRecord[], key: StageKey): boolean {
  if (!LLM.has(key.role)) return false;
  const group = sharers(records, key);
  return group.size > 1 && key.role !== 'code';
}
