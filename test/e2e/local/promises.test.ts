// The loop's promises under real-world faults (issue #16), through `autorun run` as a user runs it:
// the built CLI, the real agent processes, real git and pytest, and the fake model server, whose
// own record of requests is what the tests compare with.
import { rmSync } from 'node:fs';
import { costUSD } from '../../../operator/src/agent/pricing.js';
import { apiError, billedUSD, messagesText, startFakeAnthropic, text, toolUse, type FakeAnthropic, type RecordedRequest } from '../../fakes/anthropic-server.js';
import { BUGGY, build, cliEnv, CORRECT, readState, roleOf, runCli, scratch, scriptFor, startCli, taskYaml, testsFile, waitFor } from './helpers.js';

beforeAll(() => build(), 120_000);

const dirs: string[] = [];
let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function workdir(task: string): { dir: string; file: string } {
  const w = scratch(task);
  dirs.push(w.dir);
  return w;
}

const pool = (spec: string) => `---
apiVersion: autorun.dev/v1alpha1
kind: AgentPool
metadata:
  name: default
spec:
  model:
    apiKeySecretRef: { name: anthropic }
${spec}`;

test('a model outage is not a failed task: the stage ends ModelUnavailable and the loop retries it past maxAttempts', async () => {
  const s = scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT });
  let codeRequests = 0;
  // The code agent's first request meets an overload; with a retry window of 0 the stage gives up
  // on it at once, so which stage saw the outage is exact, not a matter of timing.
  fake = await startFakeAnthropic((req: RecordedRequest) => (roleOf(req) === 'code' && codeRequests++ === 0 ? apiError(529, 'Overloaded') : s.script(req)));
  const { dir } = workdir(taskYaml('outage') + pool('  modelRetryWindow: 0s\n  roles:\n    code: { maxAttempts: 1 }\n'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: expect.stringMatching(/^outage +Succeeded .*TestsPassed$/m), err: expect.any(String) });
  const state = readState(dir, 'outage');
  const code = state.stages.filter((st) => st.role === 'code');
  expect(code.map((st) => [st.name, st.result?.outcome])).toEqual([
    ['outage-i1-code-a0', 'Error'],
    ['outage-i1-code-a1', 'Succeeded'],
  ]);
  expect(JSON.stringify(state)).toContain('ModelUnavailable');
}, 180_000);

test('hidden acceptance tests never reach a model: repair learns the count and the hint; no byte of them in any request', async () => {
  const hiddenFile = 'test_hidden_acceptance.py';
  const hidden = `from fizzbuzz import fizzbuzz


def test_hidden_fifteen_is_fizzbuzz():
    got = fizzbuzz(15)  # HIDDEN-COMMENT-51f0
    assert got == "FizzBuzz", "HIDDEN-MSG-fifteen-c0de"
`;
  const visible = `from fizzbuzz import fizzbuzz

def test_numbers():
    assert fizzbuzz(1) == "1"

def test_fizz():
    assert fizzbuzz(9) == "Fizz"

def test_buzz():
    assert fizzbuzz(10) == "Buzz"
`;
  const hint = 'Multiples of both 3 and 5 matter.';
  const repairs: string[] = [];
  fake = await startFakeAnthropic((req) => {
    const role = roleOf(req);
    const last = req.body.messages.at(-1);
    const followUp = !!last && typeof last.content !== 'string' && last.content.some((b) => b.type === 'tool_result');
    if (followUp) return text(`The ${role} work is done.`);
    if (role === 'repair') repairs.push(messagesText(req));
    if (role === 'test') return toolUse('write_file', { path: 'tests/test_fizzbuzz.py', content: visible });
    return toolUse('write_file', { path: 'fizzbuzz.py', content: role === 'code' ? BUGGY : CORRECT });
  });
  const cm = `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: hidden-tests
data:
  ${hiddenFile}: |
${hidden.split('\n').map((l) => (l ? `    ${l}` : '')).join('\n')}
`;
  const { dir } = workdir(taskYaml('hidden', `  test:\n    acceptance:\n      configMapRef: { name: hidden-tests }\n      hint: ${JSON.stringify(hint)}\n`) + cm);
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: expect.stringMatching(/^hidden +Succeeded .*AcceptancePassed$/m), err: expect.any(String) });
  // The loop did go through a failed acceptance and a repair: the test is not vacuous.
  expect(repairs).toHaveLength(1);
  expect(repairs[0]).toContain('1 hidden acceptance test fails');
  expect(repairs[0]).toContain(hint);
  // Each line of the hidden file that is its own (the import is the visible tests' too).
  const own = hidden.split('\n').map((l) => l.trim()).filter((l) => l.length > 8 && !visible.includes(l));
  expect(own.length).toBeGreaterThanOrEqual(3);
  const secrets = [...own, hiddenFile, 'test_hidden_fifteen_is_fizzbuzz', 'HIDDEN-MSG', 'HIDDEN-COMMENT'];
  const bodies = fake.requests.map((q) => JSON.stringify(q.body)).join('\n');
  expect(secrets.filter((s) => bodies.includes(JSON.stringify(s).slice(1, -1)))).toEqual([]);
}, 240_000);

test('a hanging test is reported as such: repair is told which test hung, and the task ends saying so', async () => {
  const hanging = `import time
from fizzbuzz import fizzbuzz

def test_numbers():
    assert fizzbuzz(1) == "1"

def test_waits_for_ever():
    time.sleep(300)
`;
  const repairs: string[] = [];
  fake = await startFakeAnthropic((req) => {
    const role = roleOf(req);
    const last = req.body.messages.at(-1);
    const followUp = !!last && typeof last.content !== 'string' && last.content.some((b) => b.type === 'tool_result');
    if (followUp) return text(`The ${role} work is done.`);
    if (role === 'repair') repairs.push(messagesText(req));
    if (role === 'test') return toolUse('write_file', { path: 'tests/test_fizzbuzz.py', content: hanging });
    return toolUse('write_file', { path: 'fizzbuzz.py', content: `${CORRECT}\n# ${role} ${repairs.length}\n` });
  });
  const { dir } = workdir(taskYaml('hangs', '  test:\n    timeoutSeconds: 2\n  limits:\n    maxIterations: 2\n'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect(r.code).toBe(1);
  expect(repairs).toHaveLength(1);
  expect(repairs[0]).toContain('The last test run hung: it was killed at its timeout (2s) while tests/test_fizzbuzz.py::test_waits_for_ever was running');
  expect(repairs[0]).not.toMatch(/repairing 0|0 failing/);
  const state = readState(dir, 'hangs');
  expect(state.status.reason).toBe('MaxIterations');
  expect(JSON.stringify(state.status)).toContain('the tests still hang: the tests hung: tests/test_fizzbuzz.py::test_waits_for_ever was killed at spec.test.timeoutSeconds');
}, 240_000);

test('the cost cap holds for the task: code ∥ test split the budget, and a stage stopped mid-call still reports its spend', async () => {
  // $0.45 a call at claude-sonnet-4-6 prices ($3/M in, $15/M out).
  const call = { input_tokens: 100_000, output_tokens: 10_000 };
  let testCalls = 0;
  fake = await startFakeAnthropic((req) => {
    if (roleOf(req) === 'code') return toolUse('list_files', {}, { usage: call });
    return testCalls++ === 0 ? toolUse('list_files', {}, { usage: call }) : { kind: 'hang' };
  });
  const { dir } = workdir(taskYaml('capped', '  limits:\n    maxCostUSD: "1"\n'));
  const cli = startCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  // The code stage ends on its budget while the test stage waits on a call that never answers.
  const codeDone = () => {
    try {
      return readState(dir, 'capped').stages.some((s) => s.name === 'capped-i1-code-a0' && s.state === 'Finished');
    } catch {
      return false;
    }
  };
  await waitFor(() => codeDone() && testCalls === 2, 120_000, 'the code stage to end and the test stage to hang');
  cli.child.kill('SIGINT');
  const r = await cli.done;
  expect(r.code).toBe(130);
  const codeCalls = fake.requests.filter((q) => roleOf(q) === 'code').length;
  // Half of the $1 each: the code stage stops after the call that took it past $0.50 (old: $1).
  expect(codeCalls).toBe(2);
  const billed = billedUSD(fake, costUSD);
  expect(billed).toBeCloseTo(1.35, 6);
  const state = readState(dir, 'capped') as unknown as { status: { cost?: { llmUSD?: string } }; stages: { name: string; result?: { reason?: string; usage?: { costUSD: number } } }[] };
  // What the model API billed is what the task shows, the stopped test stage's $0.45 included.
  expect(Number(state.status.cost?.llmUSD)).toBeCloseTo(billed, 4);
  expect(state.stages.find((s) => s.name === 'capped-i1-test-a0')?.result).toMatchObject({ reason: 'Stopped', usage: { costUSD: 0.45 } });
  // Over the cap by less than one call.
  expect(billed - 1).toBeLessThan(0.45);
}, 240_000);
