// What the LLM role hands its engine, against a real bare git remote: a fresh start's code stage is
// a retake (the local model samples it instead of writing the first try's code again); the first
// code stage and a retry are not.
import { expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
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
  const ctx = completeContext({ task: 'fizzbuzz', role: 'code', goal: 'fizzbuzz(n) in fizzbuzz.py', repository: { url: remote, baseRef: 'main' }, testsRef: tests, workspace, model: model({ provider: 'local', name: 'stand-in' }), ...extra });
  let seen: EngineRequest | undefined;
  const engine: Engine = async (req) => {
    seen = req;
    writeFileSync(join(req.workspace, 'fizzbuzz.py'), 'def fizzbuzz(n):\n    return "Fizz"\n');
    return { outcome: 'Succeeded', summary: 'wrote fizzbuzz.py', finalText: '', usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 }, turns: 1 };
  };
  const result = await llmRole(ctx, 'code', GIT_ENV, recordingTranscript().transcript, engine);
  expect(result.outcome).toBe('Succeeded');
  return seen as EngineRequest;
}

test('a fresh start is a retake; the first code stage and its retry are not', async () => {
  expect((await codeStage({ iteration: 4, freshStart: true })).retake).toBe(true);
  expect((await codeStage({ iteration: 1 })).retake).toBe(false);
  const retry = await codeStage({ iteration: 1, attempt: 1 });
  expect(retry).toMatchObject({ retake: false, attempt: 1 });
});
