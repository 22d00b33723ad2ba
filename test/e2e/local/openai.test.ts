// `autorun run` against a model server of your own: the vLLM example pool, pointed at the fake
// OpenAI-compatible server, with no Anthropic credential anywhere. Real git and real pytest; the
// first implementation is buggy, so the repair agent gets the failure report over that API too.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai-server.js';
import { BUGGY, BUGGY_ASSERTION, build, cliEnv, CORRECT, git, lines, openAIScriptFor, readState, REPO_ROOT, reportSection, runCli, scratch, testsFile } from './helpers.js';

beforeAll(() => build(), 120_000);

const EXAMPLE = join(REPO_ROOT, 'manifests', 'examples', 'local', 'vllm-pool.yaml');
const EXAMPLE_URL = 'http://localhost:8000/v1';
const MODEL = 'Qwen/Qwen2.5-Coder-32B-Instruct';
// As for a vLLM started with --api-key: only the LLM stages may hold it.
const TOKEN = 'vllm-e2e-token-0123456789';
// The run stage executes generated code, so pytest itself checks that the key did not reach it.
const TESTS = `${testsFile()}
def test_the_model_key_is_not_here():
    import os
    assert "OPENAI_API_KEY" not in os.environ
    assert ${JSON.stringify(TOKEN)} not in repr(dict(os.environ))
`;

let fake: FakeOpenAI | undefined;
let dir: string | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the vLLM example pool: every agent calls the OpenAI-compatible server, repair included, and the task succeeds', async () => {
  const s = openAIScriptFor({ code: BUGGY, tests: TESTS, repair: () => CORRECT });
  fake = await startFakeOpenAI(s.script);
  const example = readFileSync(EXAMPLE, 'utf8');
  expect(example).toContain(`baseURL: ${EXAMPLE_URL}`);
  expect(example).toContain(`name: ${MODEL}`);
  const w = scratch(example.replace(EXAMPLE_URL, fake.url));
  dir = w.dir;

  const env = cliEnv(undefined, { OPENAI_API_KEY: TOKEN });
  expect(Object.keys(env).filter((k) => k.startsWith('ANTHROPIC_'))).toEqual([]);
  const r = await runCli(['run', 'task.yaml'], dir, env);

  // The report reached the repair agent over chat completions, in its user message.
  const repairPrompt = fake.requests.map((q) => q.body.messages).find((m) => m.some((x) => x.role === 'system' && /You are the repair agent/.test(x.content ?? '')));
  expect(repairPrompt).toBeDefined();
  expect(reportSection(repairPrompt!.filter((m) => m.role === 'user').map((m) => m.content).join('\n'))).toContain(BUGGY_ASSERTION);

  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(r.stdout).toMatch(/^fizzbuzz-vllm +Succeeded +2 +6\/6 +\$0\.00 +\S+ +TestsPassed$/m);
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 1 });
  // Every request went to the pool's endpoint with the pool's model name and the key as a bearer token.
  expect(fake.requests.length).toBe(6);
  for (const q of fake.requests) {
    expect(q.path).toBe('/v1/chat/completions');
    expect(q.body.model).toBe(MODEL);
    expect(q.headers.authorization).toBe(`Bearer ${TOKEN}`);
  }

  const state = readState(dir, 'fizzbuzz-vllm');
  expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 2, tests: { summary: '6/6' }, result: { branch: 'autorun/fizzbuzz-vllm' } });
  expect(state.stages.map((st) => `${st.name}:${st.result?.outcome}`).sort()).toEqual(
    ['i1-code-a0:Succeeded', 'i1-test-a0:Succeeded', 'i1-run-a0:Failed', 'i2-repair-a0:Succeeded', 'i2-run-a0:Succeeded'].map((n) => `fizzbuzz-vllm-${n}`).sort(),
  );
  const repo = join(dir, '.autorun', 'fizzbuzz-vllm', 'repo');
  expect(git(repo, 'show', 'autorun/fizzbuzz-vllm:fizzbuzz.py')).toBe(CORRECT.trim());
  const recorded = JSON.stringify(state) + lines(join(dir, '.autorun', 'fizzbuzz-vllm', 'events.log')).join('\n') + r.stdout + r.stderr;
  expect(recorded).not.toContain(TOKEN);
}, 180_000);
