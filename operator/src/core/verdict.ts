// What a finished run or acceptance stage means for the loop. The run agent re-runs failing tests
// once and lists those that then passed as flaky: they are recorded, not repaired, so a run whose
// only failures are flaky counts as a pass.
import type { StageRecord } from './records.js';

export interface Verdict {
  pass: boolean;
  passed: number;
  /** Failures that are not flaky. */
  failed: number;
  total: number;
  /** Failing test names that are not flaky (as truncated by the agent). */
  failing: string[];
  flaky: string[];
}

export function verdictOf(r: StageRecord): Verdict {
  const t = r.tests ?? {};
  const flaky = t.flaky ?? [];
  const flakySet = new Set(flaky);
  const names = t.failing ?? [];
  const failing = names.filter((n) => !flakySet.has(n));
  // Agents may list flaky tests among the failures or leave them out; count each flaky test once.
  const flakyListed = names.length - failing.length;
  const total = t.total ?? 0;
  const failed = Math.max(0, (t.failed ?? names.length) - flakyListed);
  const passed = Math.min(total || Infinity, (t.passed ?? 0) + flakyListed);
  const pass = r.state === 'Succeeded' || (r.state === 'Failed' && flaky.length > 0 && failing.length === 0 && failed === 0);
  return { pass, passed: Number.isFinite(passed) ? passed : 0, failed, total, failing, flaky };
}
