// The tests judge a code change before the model may call it finished; a repair change that makes
// the handed failure worse is undone. The traces are HumanEval/95's from bench run 9: the handed
// code raised on the third example (line 8), the repair's filter broke the second (line 7).
import { expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CODE_ADVICE, REPAIR_ADVICE, failingAfterChange, testCommandOf, undoWorseAtEnd } from '../../../../operator/src/agent/roles/finish-check.js';
import { Git } from '../../../../operator/src/agent/git.js';
import { handedCode } from '../../../../operator/src/agent/roles/handed-code.js';
import type { HandedCode } from '../../../../operator/src/agent/roles/handed-code.js';
import type { FailureReport } from '../../../../operator/src/agent/runner/report.js';
import type { ToolSpec } from '../../../../operator/src/agent/tools/types.js';
import { makeRemote } from '../../../e2e/agent/harness.js';
import { tempDir } from '../helpers.js';

/** A run_command that answers as the real one does ("exit code N" and the output) and records its calls. */
function runCommand(answer: string): ToolSpec & { calls: Record<string, unknown>[] } {
  const calls: Record<string, unknown>[] = [];
  return { name: 'run_command', description: '', inputSchema: { type: 'object', properties: {} }, calls, run: async (input) => (calls.push(input), answer) };
}

const python = { language: 'python' as const, test: { timeoutSeconds: 900, allowRepairToEditTests: false } };

test('the tests failing after the change: the refusal shows the command, its exit and the end of its output', async () => {
  const cmd = runCommand('exit code 1\n' + 'x'.repeat(3000) + "\nE   ValueError: could not convert string to float: 'None'\n1 failed in 0.05s\n");
  const latest: { output?: string } = {};
  const why = await failingAfterChange(python, cmd, { advice: REPAIR_ADVICE, flagged: new Map(), latest })!();
  expect(latest.output).toMatch(/^x+\nE {3}ValueError: could not convert string to float: 'None'\n1 failed in 0\.05s$/);
  expect(cmd.calls).toEqual([{ command: 'python -m pytest -q -p no:cacheprovider', timeout_seconds: 600 }]);
  expect(why).toMatch(/^the tests fail after your change \(`python -m pytest -q -p no:cacheprovider`: exit code 1\):\n\[…\]\nx+\nE {3}ValueError: could not convert string to float: 'None'\n1 failed in 0\.05s\nFix the implementation; flag a test only where what it expects contradicts the goal\.$/);
  expect(why!.length).toBeLessThan(2800);
});

test('passing tests or a flag already made: nothing to refuse, and a flag runs nothing', async () => {
  expect(await failingAfterChange(python, runCommand('exit code 0\n3 passed\n'), { advice: REPAIR_ADVICE })!()).toBeUndefined();
  const cmd = runCommand('exit code 1\n');
  expect(await failingAfterChange(python, cmd, { advice: REPAIR_ADVICE, flagged: new Map([['test_x', 'contradicts the goal']]) })!()).toBeUndefined();
  expect(cmd.calls).toEqual([]);
});

test("no command to run: no check, so the loop's rule (the model's own last test run) holds instead", () => {
  expect(failingAfterChange({ language: 'other', test: python.test }, runCommand('exit code 1\n'), { advice: CODE_ADVICE })).toBeUndefined();
});

test("the task's own test command wins over the language's", () => {
  expect(testCommandOf({ language: 'python', test: { ...python.test, command: 'make check' } })).toBe('make check');
  expect(testCommandOf({ language: 'go', test: python.test })).toBe('go test ./...');
});

const HANDED_CODE = "def check_dict_case(dict):\n    if not dict:\n        return False\n    all_lower = all(key.islower() for key in dict)\n    all_upper = all(key.isupper() for key in dict)\n    return all_lower or all_upper\n";
const handedTrace = 'def test_check_dict_case():\n        assert check_dict_case({"a":"apple", "b":"banana"}) == True\n        assert check_dict_case({"a":"apple", "A":"banana", "B":"banana"}) == False\n>       assert check_dict_case({"a":"apple", 8:"banana", "a":"apple"}) == False\n\ntests/test_solution.py:8: \nsolution.py:4: in check_dict_case\n>   all_lower = all(key.islower() for key in dict)\nE   AttributeError: \'int\' object has no attribute \'islower\'\n\nsolution.py:4: AttributeError';
const handed = (failed = 1, extra: FailureReport['failures'] = []): FailureReport => ({
  role: 'run', command: 'python -m pytest', exitCode: 1, timedOut: false, durationMs: 1, flaky: [], outputTail: '',
  tests: { passed: 0, failed, total: failed },
  failures: [{ name: 'tests/test_solution.py::test_check_dict_case', message: "AttributeError: 'int' object has no attribute 'islower'", trace: handedTrace }, ...extra],
});
const section = (name: string, body: string): string => `${'_'.repeat(29)} ${name} ${'_'.repeat(29)}\n\n${body}\n`;
const run = (sections: string, failed: string[]): string =>
  `exit code 1\n${'F'.repeat(failed.length)}   [100%]\n=================================== FAILURES ===================================\n${sections}=========================== short test summary info ============================\n${failed.map((f) => `FAILED tests/test_solution.py::${f} - AssertionError: assert ...`).join('\n')}\n${failed.length} failed in 0.02s\n`;
const brokeSecond = run(section('test_check_dict_case', '    def test_check_dict_case():\n        assert check_dict_case({"a":"apple", "b":"banana"}) == True\n>       assert check_dict_case({"a":"apple", "A":"banana", "B":"banana"}) == False\nE       AssertionError: assert True == False\n\ntests/test_solution.py:7: AssertionError'), ['test_check_dict_case']);

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

/** A stage's clone of the handed code and tests, its repository outside the work tree as in a stage. */
async function workspace(): Promise<{ ws: string; code: HandedCode }> {
  const dir = tempDir();
  const remote = makeRemote(dir, { 'solution.py': HANDED_CODE, 'test_solution.py': 'the tests: never restored\n' });
  const ws = join(dir, 'ws');
  const git = new Git(ws, GIT_ENV, join(dir, 'repo.git'));
  await git.clone(remote);
  const start = await git.base('main');
  await git.checkout(start);
  return { ws, code: handedCode(git, start) };
}
const FILTERED = HANDED_CODE.replace('all(key.islower() for key in dict)', 'all(key.islower() for key in dict if isinstance(key, str) and key.islower())');

test('a repair change that breaks a check which passed before is undone, and the model is shown the code back and what is still to fix', async () => {
  const { ws, code } = await workspace();
  writeFileSync(join(ws, 'solution.py'), FILTERED);
  writeFileSync(join(ws, 'test_solution.py'), 'changed by the model\n');
  const latest: { output?: string } = {};
  const why = await failingAfterChange(python, runCommand(brokeSecond), { advice: REPAIR_ADVICE, flagged: new Map(), latest, guard: { report: handed(), handed: code } })!();
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(HANDED_CODE);
  expect(readFileSync(join(ws, 'test_solution.py'), 'utf8')).toBe('changed by the model\n');
  expect(why).toContain('your change made it worse: tests/test_solution.py:7 (`assert check_dict_case({"a":"apple", "A":"banana", "B":"banana"}) == False`) passed before your change and fails now. It is undone: solution.py is back as you were handed it:\nsolution.py:\n```\n' + HANDED_CODE + '\n```\n');
  expect(why).toMatch(/Still to fix: tests\/test_solution.py::test_check_dict_case at tests\/test_solution.py:8 \(`assert check_dict_case\(\{"a":"apple", 8:"banana", "a":"apple"\}\) == False`\): AttributeError: 'int' object has no attribute 'islower'\. Make a different change/);
  // Flags are judged by the handed report again: the code is the handed code.
  expect(latest.output).toBeUndefined();
});

test('failing where it failed before, or fewer tests failing: not worse, nothing undone', async () => {
  const { ws, code } = await workspace();
  const sameLine = run(section('test_check_dict_case', handedTrace), ['test_check_dict_case']);
  for (const [report, output] of [[handed(), sameLine], [handed(2, [{ name: 'tests/test_solution.py::test_empty', message: '', trace: '>       assert check_dict_case({}) == False\n\ntests/test_solution.py:12: AssertionError' }]), brokeSecond]] as const) {
    writeFileSync(join(ws, 'solution.py'), FILTERED);
    const why = await failingAfterChange(python, runCommand(output), { advice: REPAIR_ADVICE, guard: { report, handed: code } })!();
    expect(why).toMatch(/^the tests fail after your change/);
    expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(FILTERED);
    writeFileSync(join(ws, 'solution.py'), HANDED_CODE);
  }
});

test('a test that passed before and fails now makes it worse; without a guard (a code stage) nothing is undone', async () => {
  const { ws, code } = await workspace();
  writeFileSync(join(ws, 'solution.py'), FILTERED);
  const twoFail = run(section('test_check_dict_case', handedTrace) + section('test_upper', '>       assert check_dict_case({"A": 1}) == True\nE   assert False == True\n\ntests/test_solution.py:12: AssertionError'), ['test_check_dict_case', 'test_upper']);
  const codeStage = await failingAfterChange(python, runCommand(twoFail), { advice: CODE_ADVICE })!();
  expect(codeStage).toMatch(/\nFix the implementation: the tests are not yours to change\.$/);
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(FILTERED);
  const repair = await failingAfterChange(python, runCommand(twoFail), { advice: REPAIR_ADVICE, guard: { report: handed(), handed: code } })!();
  expect(repair).toMatch(/^your change made it worse: tests\/test_solution.py::test_upper passed before your change and fails now\. It is undone/);
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(HANDED_CODE);
});

test('at the end of a session whose finished a check refused (taken once the refusals ran out), a change that left it worse is undone before the commit; one that did not, or a flag, is kept', async () => {
  const { ws, code } = await workspace();
  writeFileSync(join(ws, 'solution.py'), FILTERED);
  const guard = { report: handed(), handed: code };
  const refused = { failed: true };
  // No check refused its finished: the tests were green when it asked, or it never asked.
  expect(await undoWorseAtEnd(python, runCommand(brokeSecond), guard, new Map(), {})).toBeUndefined();
  expect(await undoWorseAtEnd(python, runCommand(brokeSecond), guard, new Map([['test_check_dict_case', 'wrong']]), refused)).toBeUndefined();
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(FILTERED);
  expect(await undoWorseAtEnd(python, runCommand(run(section('test_check_dict_case', handedTrace), ['test_check_dict_case'])), guard, new Map(), refused)).toBeUndefined();
  expect(await undoWorseAtEnd(python, runCommand('exit code 0\n1 passed\n'), guard, new Map(), refused)).toBeUndefined();
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(FILTERED);
  expect(await undoWorseAtEnd(python, runCommand(brokeSecond), guard, new Map(), refused)).toMatch(/^undid the change that made it worse: tests\/test_solution.py:7 /);
  expect(readFileSync(join(ws, 'solution.py'), 'utf8')).toBe(HANDED_CODE);
});
