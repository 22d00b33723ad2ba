// A local model's repair flags are judged by takes written from the goal, against a real bare git
// remote and pytest in the sandbox: a take that passes the flagged test refutes the flag (its code
// is the repair's, no test is handed to the test agent); where none passes, the flag and the
// repair's own code stand. Takes start where a fresh start does: the base and the tests, no code.
import { expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completeContext } from '../../../../operator/src/agent/context.js';
import type { Engine, EngineRequest } from '../../../../operator/src/agent/engines/types.js';
import { llmRole } from '../../../../operator/src/agent/roles/llm-role.js';
import { makeRemote, pushFiles } from '../../../e2e/agent/harness.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
const TEST = 'from solution import pluck\n\ndef test_pluck():\n    assert pluck([4, 2, 3]) == [2, 1]\n    assert pluck([1, 3, 5, 7]) == []\n';
const WRONG = "def pluck(arr):\n    evens = [(v, i) for i, v in enumerate(arr) if v % 2 == 0]\n    return list(min(evens)) if evens else [float('inf'), -1]\n";
const RIGHT = 'def pluck(arr):\n    evens = [(v, i) for i, v in enumerate(arr) if v % 2 == 0]\n    return list(min(evens)) if evens else []\n';
const TRACE = '>       assert pluck([1, 3, 5, 7]) == []\nE       assert [inf, -1] == []\n\ntests/test_solution.py:5: AssertionError';
const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 };

/** HumanEval/68 as bench run 13 met it: a repair that flags the right check, then takes that write `takes[n]`. */
async function repairThatFlags(takes: string[]): Promise<{ result: Awaited<ReturnType<typeof llmRole>>; seen: EngineRequest[]; events: string[]; remote: string }> {
  const dir = tempDir();
  const remote = makeRemote(dir, { 'README.md': '# pluck\n' });
  const tests = pushFiles(dir, remote, 'refs/autorun/t/tests', { 'tests/test_solution.py': TEST });
  const code = pushFiles(dir, remote, 'refs/autorun/t/code', { 'solution.py': WRONG });
  const reportPath = join(dir, 'report.json');
  writeFileSync(reportPath, JSON.stringify({ failures: [{ name: 'tests/test_solution.py::test_pluck', message: 'assert [inf, -1] == []', trace: TRACE }] }));
  const goal = 'pluck(arr) in solution.py: [smallest even value, its index], or [] when there is no even value';
  const ctx = completeContext({ task: 't', role: 'repair', goal, repository: { url: remote, baseRef: 'main' }, codeRef: code, testsRef: tests, failureReportPath: reportPath, workspace: join(dir, 'ws'), model: model({ provider: 'local', name: 'stand-in' }), language: 'python' });
  const seen: EngineRequest[] = [];
  const engine: Engine = async (req) => {
    seen.push(req);
    const flag = req.tools.find((t) => t.name === 'flag_test');
    if (flag) {
      await flag.run({ name: 'test_pluck', reason: 'it should return None' });
      return { outcome: 'Succeeded', summary: 'flagged test_pluck', finalText: '', usage, turns: 2 };
    }
    // Written from the goal alone, as a fresh start is: the wrong code is not there to be patched.
    if (existsSync(join(req.workspace, 'solution.py'))) throw new Error('a take started beside the code');
    writeFileSync(join(req.workspace, 'solution.py'), takes[req.take ?? 0]!);
    const spent = req.spent ?? usage;
    return { outcome: 'Succeeded', summary: 'wrote solution.py', finalText: '', usage: { ...spent, inputTokens: spent.inputTokens + 1 }, turns: 2 };
  };
  const { transcript, lines } = recordingTranscript();
  const result = await llmRole(ctx, 'repair', GIT_ENV, transcript, engine);
  return { result, seen, events: lines.map((l) => (JSON.parse(l) as { event: string }).event), remote };
}

const shown = (remote: string, commit: string): string => execFileSync('git', ['--git-dir', remote, 'show', `${commit}:solution.py`], { encoding: 'utf8' });

test('a take from the goal that passes the flagged test refutes the flag: its code is the repair\'s and no test goes to the test agent', async () => {
  const { result, seen, events, remote } = await repairThatFlags([WRONG, RIGHT, RIGHT]);
  // The repair, then two takes: the second is green and ends them.
  expect(seen.map((r) => r.take)).toEqual([undefined, 0, 1]);
  expect(seen.slice(1).every((r) => r.retake && !r.tools.some((t) => t.name === 'flag_test'))).toBe(true);
  expect(result.outcome).toBe('Succeeded');
  expect(result.flaggedTests).toBeUndefined();
  expect(result.summary).toContain('a take written from the goal passes the flagged test(s) test_pluck');
  expect(shown(remote, result.commit!)).toBe(RIGHT);
  // Every take's usage is the repair's too.
  expect(result.usage?.inputTokens).toBe(3);
  expect(events).toEqual(expect.arrayContaining(['flag-takes', 'take', 'flags-refuted']));
});

test('no take passes the flagged test: the flag and the repair\'s own code stand', async () => {
  const { result, seen, events, remote } = await repairThatFlags([WRONG, WRONG, WRONG]);
  expect(seen.map((r) => r.take)).toEqual([undefined, 0, 1, 2]);
  expect(result.outcome).toBe('Succeeded');
  expect(result.flaggedTests).toEqual(['test_pluck']);
  expect(result.summary).toBe('flagged 1 test(s) as wrong; no code change');
  expect(shown(remote, result.commit!)).toBe(WRONG);
  expect(events).toContain('flags-stand');
  expect(events).not.toContain('flags-refuted');
});
