// What the LLM role hands its engine and takes from it, against a real bare git remote: a fresh
// start's code stage is a retake (the local model samples it instead of writing the first try's
// code again) whose finished the tests judge; the first code stage and a retry are neither. A
// repair's flag of a test the code crashed on is refused in a final reply (Claude Code's FLAG_TEST
// lines) as in the flag_test tool.
import { expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completeContext } from '../../../../operator/src/agent/context.js';
import type { Engine, EngineRequest } from '../../../../operator/src/agent/engines/types.js';
import { llmRole } from '../../../../operator/src/agent/roles/llm-role.js';
import { makeRemote, pushFiles } from '../../../e2e/agent/harness.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

async function codeStage(extra: Record<string, unknown>): Promise<EngineRequest> {
  const dir = tempDir();
  const remote = makeRemote(dir, { 'README.md': '# fizzbuzz\n' });
  const tests = pushFiles(dir, remote, 'refs/autorun/fizzbuzz/tests', { 'tests/test_fizzbuzz.py': 'from fizzbuzz import fizzbuzz\n\ndef test_3():\n    assert fizzbuzz(3) == "Fizz"\n' });
  const workspace = join(dir, 'ws');
  const ctx = completeContext({ task: 'fizzbuzz', role: 'code', goal: 'fizzbuzz(n) in fizzbuzz.py', repository: { url: remote, baseRef: 'main' }, testsRef: tests, workspace, model: model({ provider: 'local', name: 'stand-in' }), language: 'python', ...extra });
  let seen: EngineRequest | undefined;
  const engine: Engine = async (req) => {
    // A second take would mean the first one's tests failed.
    if (seen) throw new Error('the engine ran twice');
    seen = req;
    writeFileSync(join(req.workspace, 'fizzbuzz.py'), 'def fizzbuzz(n):\n    return "Fizz"\n');
    return { outcome: 'Succeeded', summary: 'wrote fizzbuzz.py', finalText: '', usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 }, turns: 1 };
  };
  const result = await llmRole(ctx, 'code', GIT_ENV, recordingTranscript().transcript, engine);
  expect(result.outcome).toBe('Succeeded');
  return seen as EngineRequest;
}

test('a fresh start is a retake judged by the tests it is handed: a local model\'s as takes (the first green one kept), another\'s finished; the first code stage and its retry are neither', async () => {
  const fresh = await codeStage({ iteration: 4, freshStart: true });
  expect(fresh.retake).toBe(true);
  // The stand-in's code passes the handed test, run by pytest in the sandbox: the first take is kept.
  expect(fresh.take).toBe(0);
  // A take is judged once it ends: its finished is never refused.
  expect(typeof fresh.unfinished).toBe('function');
  expect(await fresh.unfinished!()).toBeUndefined();
  const served = await codeStage({ iteration: 4, freshStart: true, model: model({ provider: 'openai-compatible', name: 'qwen' }) });
  expect(served.take).toBeUndefined();
  expect(typeof served.unfinished).toBe('function');
  const first = await codeStage({ iteration: 1 });
  expect(first.retake ?? false).toBe(false);
  expect(first.unfinished).toBeUndefined();
  const retry = await codeStage({ iteration: 1, attempt: 1 });
  expect(retry.attempt).toBe(1);
  expect(retry.retake ?? false).toBe(false);
});

test("a FLAG_TEST line for a test the code crashed on is not taken; one for an assertion is", async () => {
  const dir = tempDir();
  const remote = makeRemote(dir, { 'README.md': '# f\n' });
  const tests = pushFiles(dir, remote, 'refs/autorun/t/tests', { 'tests/test_solution.py': 'from solution import f\n\ndef test_int_key():\n    assert f({8: 1}) == False\n\ndef test_upper():\n    assert f({"A": 1}) == True\n' });
  const code = pushFiles(dir, remote, 'refs/autorun/t/code', { 'solution.py': 'def f(d):\n    return all(k.islower() for k in d)\n' });
  const crash = '>       assert f({8: 1}) == False\n\ntests/test_solution.py:4: \nsolution.py:2: in f\n>   return all(k.islower() for k in d)\nE   AttributeError: \'int\' object has no attribute \'islower\'\n\nsolution.py:2: AttributeError';
  const mismatch = '>       assert f({"A": 1}) == True\nE       assert False == True\n\ntests/test_solution.py:7: AssertionError';
  const reportPath = join(dir, 'report.json');
  writeFileSync(reportPath, JSON.stringify({ failures: [{ name: 'tests/test_solution.py::test_int_key', message: 'AttributeError', trace: crash }, { name: 'tests/test_solution.py::test_upper', message: 'assert False == True', trace: mismatch }] }));
  const ctx = completeContext({ task: 't', role: 'repair', goal: 'f(d): all keys lower case', repository: { url: remote, baseRef: 'main' }, codeRef: code, testsRef: tests, failureReportPath: reportPath, workspace: join(dir, 'ws'), engine: 'claude-code', model: model() });
  const { transcript, lines } = recordingTranscript();
  let prompt = '';
  const engine: Engine = async (req) => {
    prompt = req.prompt;
    return { outcome: 'Succeeded', summary: 'flagged', finalText: 'FLAG_TEST: test_int_key - a dict key is never an int\nFLAG_TEST: test_upper - the goal says lower case', usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 }, turns: 1 };
  };
  const result = await llmRole(ctx, 'repair', GIT_ENV, transcript, engine);
  expect(prompt).toContain('solution.py:2: AttributeError');
  expect(result.flaggedTests).toEqual(['test_upper']);
  const refused = lines.map((l) => JSON.parse(l) as { event: string; test?: string; why?: string }).filter((l) => l.event === 'flag-refused');
  expect(refused).toEqual([expect.objectContaining({ test: 'test_int_key', why: expect.stringContaining('raised AttributeError at solution.py:2') })]);
  expect(readFileSync(reportPath, 'utf8')).toContain('test_int_key');
});
