// Status fields that are pure summaries of the stage records: tests, cost, iteration, fresh
// starts. Recomputed on every call so they always agree with status.stages.
import type { CodingTaskStatus } from '../api/types.js';
import { costOfRecords, costStatus } from './cost.js';
import { compareKeys, isFinished, MAX_NAMES, type StageRecord } from './records.js';
import { verdictOf } from './verdict.js';

export { isTerminal } from '../contract/phases.js';

/** status.tests from the latest finished test run; flaky tests accumulate over the whole task. */
export function testsStatus(records: readonly StageRecord[]): CodingTaskStatus['tests'] {
  const runs = records.filter((r) => (r.role === 'run' || r.role === 'acceptance') && isFinished(r) && r.tests);
  const latest = [...runs].sort(compareKeys).at(-1);
  if (!latest) return undefined;
  const flaky: string[] = [];
  for (const r of runs) for (const t of r.tests?.flaky ?? []) if (!flaky.includes(t)) flaky.push(t);
  const v = verdictOf(latest);
  return {
    passed: v.passed,
    failed: v.failed,
    total: v.total,
    failing: v.failing.slice(0, MAX_NAMES),
    ...(flaky.length ? { flaky: flaky.slice(0, MAX_NAMES) } : {}),
    summary: `${v.passed}/${v.total}`,
  };
}

/** Writes the record-derived fields into status (in place). */
export function summarize(status: CodingTaskStatus, records: StageRecord[], gpuHourUSD: number): void {
  status.stages = records;
  status.cost = costStatus(costOfRecords(records, gpuHourUSD));
  const tests = testsStatus(records);
  if (tests) status.tests = tests;
  else delete status.tests;
  if (records.length > 0) status.iteration = Math.max(...records.map((r) => r.iteration));
  // A code stage after iteration 1 is a fresh start (see plan.ts).
  status.freshStarts = new Set(records.filter((r) => r.role === 'code' && r.iteration > 1).map((r) => r.iteration)).size;
  const starts = records.map((r) => r.startTime).filter((t): t is string => t !== undefined).sort();
  if (!status.startTime && starts[0]) status.startTime = starts[0];
}
