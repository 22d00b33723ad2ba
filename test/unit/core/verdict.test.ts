import { verdictOf } from '../../../operator/src/core/verdict.js';
import type { StageRecord } from '../../../operator/src/core/records.js';

const run = (state: StageRecord['state'], tests: StageRecord['tests']): StageRecord => ({ name: 'x-i1-run-a0', iteration: 1, role: 'run', attempt: 0, state, tests });

describe('verdictOf', () => {
  test('a passing run', () => {
    expect(verdictOf(run('Succeeded', { passed: 10, failed: 0, total: 10, failing: [] }))).toEqual({ pass: true, passed: 10, failed: 0, total: 10, failing: [], flaky: [] });
  });

  test('flaky tests listed among the failures count as passes', () => {
    expect(verdictOf(run('Failed', { passed: 8, failed: 2, total: 10, failing: ['a', 'b'], flaky: ['a', 'b'] }))).toEqual({ pass: true, passed: 10, failed: 0, total: 10, failing: [], flaky: ['a', 'b'] });
  });

  test('flaky tests left out of the failures are not counted twice', () => {
    expect(verdictOf(run('Failed', { passed: 10, failed: 0, total: 10, failing: [], flaky: ['a'] }))).toMatchObject({ pass: true, passed: 10, failed: 0 });
  });

  test('a real failure beside a flaky one fails; only the real one is to repair', () => {
    expect(verdictOf(run('Failed', { passed: 8, failed: 2, total: 10, failing: ['a', 'b'], flaky: ['a'] }))).toEqual({ pass: false, passed: 9, failed: 1, total: 10, failing: ['b'], flaky: ['a'] });
  });

  test('failures beyond the truncated name list keep the run failing', () => {
    expect(verdictOf(run('Failed', { passed: 5, failed: 5, total: 10, failing: ['a'], flaky: ['a'] })).pass).toBe(false);
  });

  test('a failed run without any test detail is not a pass', () => {
    expect(verdictOf(run('Failed', undefined)).pass).toBe(false);
  });
});
