import { failingAfterRepair, testCommandOf } from '../../../../operator/src/agent/roles/repair-check.js';
import type { ToolSpec } from '../../../../operator/src/agent/tools/types.js';

/** A run_command that answers as the real one does ("exit code N" and the output) and records its calls. */
function runCommand(answer: string): ToolSpec & { calls: Record<string, unknown>[] } {
  const calls: Record<string, unknown>[] = [];
  return { name: 'run_command', description: '', inputSchema: { type: 'object', properties: {} }, calls, run: async (input) => (calls.push(input), answer) };
}

const python = { language: 'python' as const, test: { timeoutSeconds: 900, allowRepairToEditTests: false } };

test('the tests failing after the change: the refusal shows the command, its exit and the end of its output', async () => {
  const cmd = runCommand('exit code 1\n' + 'x'.repeat(3000) + "\nE   ValueError: could not convert string to float: 'None'\n1 failed in 0.05s\n");
  const latest: { output?: string } = {};
  const why = await failingAfterRepair(python, cmd, new Map(), latest)!();
  expect(latest.output).toMatch(/^x+\nE {3}ValueError: could not convert string to float: 'None'\n1 failed in 0\.05s$/);
  expect(cmd.calls).toEqual([{ command: 'python -m pytest -q -p no:cacheprovider', timeout_seconds: 600 }]);
  expect(why).toMatch(/^the tests fail after your change \(`python -m pytest -q -p no:cacheprovider`: exit code 1\):\n\[…\]\nx+\nE {3}ValueError: could not convert string to float: 'None'\n1 failed in 0\.05s\nFix the implementation; flag a test only where what it expects contradicts the goal\.$/);
  expect(why!.length).toBeLessThan(2800);
});

test('passing tests or a flag already made: nothing to refuse, and a flag runs nothing', async () => {
  expect(await failingAfterRepair(python, runCommand('exit code 0\n3 passed\n'), new Map())!()).toBeUndefined();
  const cmd = runCommand('exit code 1\n');
  expect(await failingAfterRepair(python, cmd, new Map([['test_x', 'contradicts the goal']]))!()).toBeUndefined();
  expect(cmd.calls).toEqual([]);
});

test("no command to run: no check, so the loop's rule (the model's own last test run) holds instead", () => {
  expect(failingAfterRepair({ language: 'other', test: python.test }, runCommand('exit code 1\n'), new Map())).toBeUndefined();
});

test("the task's own test command wins over the language's", () => {
  expect(testCommandOf({ language: 'python', test: { ...python.test, command: 'make check' } })).toBe('make check');
  expect(testCommandOf({ language: 'go', test: python.test })).toBe('go test ./...');
});
