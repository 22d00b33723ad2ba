import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flaggedChecks, keptFlaggedCheck, negations } from '../../../../operator/src/agent/roles/flagged-checks.js';
import type { FailureReport } from '../../../../operator/src/agent/runner/report.js';
import { tempDir } from '../helpers.js';

// HumanEval/109's first run, as the run agent reported it.
const report: FailureReport = {
  role: 'run',
  command: 'python -m pytest -v',
  exitCode: 1,
  timedOut: false,
  durationMs: 485,
  tests: { passed: 0, failed: 1, total: 1 },
  failures: [
    {
      name: 'tests/test_solution.py::test_move_one_ball',
      message: 'assert False == True\n +  where False = move_one_ball([5, 4, 3, 2, 1])',
      trace:
        'def test_move_one_ball():\n        assert move_one_ball([3, 4, 5, 1, 2]) == True\n>       assert move_one_ball([5, 4, 3, 2, 1]) == True\nE       assert False == True\nE        +  where False = move_one_ball([5, 4, 3, 2, 1])\n\ntests/test_solution.py:10: AssertionError',
    },
  ],
  flaky: [],
  outputTail: '',
};

/** A workspace with one test file, rewritten by `write` as a revision would. */
function testFile(): { ws: string; write: (text: string) => void } {
  const ws = tempDir();
  mkdirSync(join(ws, 'tests'));
  return { ws, write: (text) => writeFileSync(join(ws, 'tests', 'test_solution.py'), text) };
}

test('a flagged test, by its full or its short name, failed at the line pytest marks; nothing of the assertion message', () => {
  const check = { test: 'test_move_one_ball', check: 'assert move_one_ball([5, 4, 3, 2, 1]) == True' };
  expect(flaggedChecks(report, ['test_move_one_ball'])).toEqual([check]);
  expect(flaggedChecks(report, ['tests/test_solution.py::test_move_one_ball'])).toEqual([{ ...check, test: 'tests/test_solution.py::test_move_one_ball' }]);
  expect(flaggedChecks(report, ['test_other'])).toEqual([]);
  expect(flaggedChecks(undefined, ['test_move_one_ball'])).toEqual([]);
  expect(flaggedChecks({ ...report, failures: [{ ...report.failures[0]!, trace: 'no marker' }] }, ['test_move_one_ball'])).toEqual([]);
});

test('a revision that keeps the flagged check word for word is not done; one that changes it is', () => {
  const checks = flaggedChecks(report, ['test_move_one_ball']);
  const { ws, write } = testFile();
  write('def test_move_one_ball():\n    assert move_one_ball([5, 4, 3, 2, 1]) == True\n');
  expect(keptFlaggedCheck(ws, checks)).toBe(
    'tests/test_solution.py still has `assert move_one_ball([5, 4, 3, 2, 1]) == True`, the check in test_move_one_ball that the repair agent found contradicts the goal: change it to what the goal states, or remove it.',
  );
  write('def test_move_one_ball():\n    assert move_one_ball([5, 4, 3, 2, 1]) == False\n');
  expect(keptFlaggedCheck(ws, checks)).toBeUndefined();
  expect(keptFlaggedCheck(ws, [])).toBeUndefined();
});

test('a revision that only negates the flagged check keeps its claim: HumanEval/68 went from == [] to != [] (bench run 12)', () => {
  const checks = [{ test: 'test_pluck', check: 'assert pluck([1, 3, 5, 7]) == []' }];
  const { ws, write } = testFile();
  write('def test_pluck():\n    assert pluck([1, 3, 5, 7]) != []\n');
  expect(keptFlaggedCheck(ws, checks)).toBe(
    'tests/test_solution.py has `assert pluck([1, 3, 5, 7]) != []` for the flagged check `assert pluck([1, 3, 5, 7]) == []` in test_pluck: that only says what the result is not, and almost any code passes it. Write the result the goal states for that input, or remove the check.',
  );
  write('def test_pluck():\n    assert not pluck([1, 3, 5, 7]) == []\n');
  expect(keptFlaggedCheck(ws, checks)).toMatch(/only says what the result is not/);
  write('def test_pluck():\n    assert pluck([1, 3, 5, 7]) == [1, 0]\n');
  expect(keptFlaggedCheck(ws, checks)).toBeUndefined();
});

test('the negations of a check: each operator turned, or the whole claim', () => {
  expect(negations('assert f(1) == 2')).toEqual(['assert f(1) != 2', 'assert not f(1) == 2', 'assert not (f(1) == 2)']);
  expect(negations('assert f(1) is None')).toEqual(['assert f(1) is not None', 'assert not f(1) is None', 'assert not (f(1) is None)']);
  expect(negations('assert not f(1)')).toEqual(['assert not not f(1)', 'assert not (not f(1))', 'assert f(1)']);
  expect(negations('self.assertEqual(f(1), 2)')).toEqual([]);
});
