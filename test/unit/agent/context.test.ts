import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContextError, contextFromEnv, contextToEnv, loadContext, stageRefs } from '../../../operator/src/agent/context.js';
import type { AgentContext } from '../../../operator/src/agent/context.js';
import { tempDir } from './helpers.js';

const full: AgentContext = {
  task: 'fizzbuzz',
  role: 'repair',
  iteration: 3,
  attempt: 1,
  goal: 'Implement fizzbuzz(n) in fizzbuzz.py.\nLine two, "quoted", and ünïcode.',
  language: 'python',
  repository: { url: 'https://git.example.com/team/repo.git', baseRef: 'main', branch: 'autorun/fizzbuzz' },
  codeRef: 'refs/autorun/fizzbuzz/code',
  testsRef: '0123456789abcdef0123456789abcdef01234567',
  failing: ['tests/test_f.py::test_15', 'a, b'],
  previousAttempts: ['swapped the checks', 'added a case'],
  failureReportPath: '/autorun/report/report.json',
  flaggedTests: ['tests/test_f.py::test_0'],
  freshStart: false,
  test: { command: 'pytest -q', timeoutSeconds: 900, allowRepairToEditTests: true, acceptanceDir: '/autorun/acceptance', acceptanceCommand: 'pytest -q acc' },
  model: { provider: 'openai-compatible', name: 'qwen', baseURL: 'http://vllm:8000/v1', maxTurns: 30, budgetUSD: 1.5, maxTokens: 4096 },
  engine: 'claude-code',
  workspace: '/workspace',
  terminationPath: '/dev/termination-log',
  reportPath: '/tmp/report.json',
};

test('env round trip keeps every field', () => {
  const env = contextToEnv(full);
  expect(Object.values(env).every((v) => typeof v === 'string')).toBe(true);
  expect(env.AUTORUN_FAILING).toBe(JSON.stringify(full.failing));
  expect(contextFromEnv(env)).toEqual(full);
});

test('defaults fill what the shell leaves out', () => {
  const ctx = contextFromEnv({ AUTORUN_TASK: 't', AUTORUN_ROLE: 'run', AUTORUN_REPO_URL: '/r.git' });
  expect(ctx).toMatchObject({ iteration: 1, attempt: 0, language: 'python', engine: 'sdk', workspace: '/workspace', terminationPath: '/dev/termination-log' });
  expect(ctx.model).toEqual({ provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 50 });
  expect(ctx.test).toEqual({ timeoutSeconds: 600, allowRepairToEditTests: false });
});

test('bad or missing values are reported by variable name', () => {
  expect(() => contextFromEnv({ AUTORUN_ROLE: 'run', AUTORUN_REPO_URL: '/r' })).toThrow(/AUTORUN_TASK/);
  expect(() => contextFromEnv({ AUTORUN_TASK: 't', AUTORUN_ROLE: 'code', AUTORUN_REPO_URL: '/r' })).toThrow(/goal/);
  expect(() => contextFromEnv({ AUTORUN_TASK: 't', AUTORUN_ROLE: 'chef', AUTORUN_REPO_URL: '/r' })).toThrow(ContextError);
  expect(() => contextFromEnv({ AUTORUN_TASK: 't', AUTORUN_ROLE: 'run', AUTORUN_REPO_URL: '/r', AUTORUN_ITERATION: 'two' })).toThrow(/AUTORUN_ITERATION/);
  expect(() => contextFromEnv({ AUTORUN_TASK: 't', AUTORUN_ROLE: 'run', AUTORUN_REPO_URL: '/r', AUTORUN_FAILING: 'a,b' })).toThrow(/JSON array/);
});

test('a mounted context file, with env on top', () => {
  const file = join(tempDir(), 'ctx.json');
  writeFileSync(file, JSON.stringify(full));
  const ctx = loadContext({ AUTORUN_CONTEXT_FILE: file, AUTORUN_ATTEMPT: '2' });
  expect(ctx).toEqual({ ...full, attempt: 2 });
});

test('stage refs live outside refs/heads so they never clash with the task branch', () => {
  expect(stageRefs({ task: 'fb', repository: { url: 'x' } })).toEqual({
    codePush: 'refs/autorun/fb/code',
    testsPush: 'refs/autorun/fb/tests',
    code: 'refs/autorun/fb/code',
    tests: 'refs/autorun/fb/tests',
    branch: 'autorun/fb',
  });
});
