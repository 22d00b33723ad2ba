// Which failed run a repair is handed (contract/repair-input.ts), the same in both shells.
import { failedRunForRepair, reportMayBeShown, type FinishedRun } from '../../../operator/src/contract/repair-input.js';

const failed = (role: 'run' | 'acceptance', iteration: number, attempt: number, finishTime?: string): FinishedRun & { name: string } => ({
  name: `${role}-${iteration}-${attempt}`,
  role,
  state: 'Finished',
  iteration,
  attempt,
  finishTime,
  result: { outcome: 'Failed' },
});

test('the latest iteration wins over a later finish time (a clock step cannot bring back an old report)', () => {
  const r = failedRunForRepair([failed('run', 2, 0, '2026-01-01T00:00:00Z'), failed('run', 1, 0, '2026-01-01T01:00:00Z')]);
  expect(r?.name).toBe('run-2-0');
});

test('within an iteration: the one that finished last, then the higher attempt', () => {
  expect(failedRunForRepair([failed('run', 1, 1, '2026-01-01T00:00:01Z'), failed('run', 1, 0, '2026-01-01T00:00:02Z')])?.name).toBe('run-1-0');
  expect(failedRunForRepair([failed('run', 1, 1, '2026-01-01T00:00:01Z'), failed('run', 1, 0, '2026-01-01T00:00:01Z')])?.name).toBe('run-1-1');
});

test('passed or unfinished runs and other roles do not count; none: undefined', () => {
  const passed = { ...failed('run', 3, 0), result: { outcome: 'Succeeded' as const } };
  const running = { ...failed('run', 4, 0), state: 'Running' };
  expect(failedRunForRepair([passed, running])).toBeUndefined();
});

test('hidden tests that failed last: that is the run, and its report is never shown (no older run\'s report either)', () => {
  const r = failedRunForRepair([failed('run', 1, 0, '2026-01-01T00:00:00Z'), failed('acceptance', 2, 0, '2026-01-01T00:01:00Z')]);
  expect(r?.role).toBe('acceptance');
  expect(reportMayBeShown(r!)).toBe(false);
  expect(reportMayBeShown(failed('run', 1, 0))).toBe(true);
});
