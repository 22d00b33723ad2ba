// The loop's promises under real-world faults (issue #16), through `autorun run` as a user runs it:
// the built CLI, the real agent processes, real git and pytest, and the fake model server, whose
// own record of requests is what the tests compare with.
import { costUSD } from '../../../operator/src/agent/pricing.js';
import { apiError, billedUSD, messagesText, text, toolUse, type RecordedRequest } from '../../fakes/anthropic-server.js';
import { BUGGY, cliEnv, CORRECT, localE2E, readState, roleOf, runCli, scriptFor, startCli, taskYaml, testsFile, waitFor } from './helpers.js';

const { workdir, fakeModel } = localE2E();

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
  const fake = await fakeModel((req: RecordedRequest) => (roleOf(req) === 'code' && codeRequests++ === 0 ? apiError(529, 'Overloaded') : s.script(req)));
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
  const fake = await fakeModel((req) => {
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
  const fake = await fakeModel((req) => {
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

// Usage as a real tokenizer could report it: no more input tokens than the request has bytes.
const honest = (req: RecordedRequest, outputTokens: number) => ({ input_tokens: Math.floor(Buffer.byteLength(JSON.stringify(req.body)) / 4), output_tokens: outputTokens });
const callUSD = (u: { input_tokens: number; output_tokens: number }) => costUSD('claude-sonnet-4-6', { inputTokens: u.input_tokens, outputTokens: u.output_tokens });

test('the cost cap holds for the task: code ∥ test together pass maxCostUSD by one call at most, and status.cost is what the API billed', async () => {
  // ~$0.096 a call (6,000 output tokens at $15/M); max_tokens 8192 makes a call's worst case ~$0.13.
  // Each stage alone would spend until it passed its $0.50: both over by most of a call (old: $1.15).
  const calls: number[] = [];
  const fake = await fakeModel((req) => {
    const usage = honest(req, 6000);
    calls.push(callUSD(usage));
    return toolUse('list_files', {}, { usage });
  });
  const { dir } = workdir(taskYaml('split', '  limits:\n    maxCostUSD: "1"\n'));
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect(r.code).toBe(1);
  const billed = billedUSD(fake, costUSD);
  const state = readState(dir, 'split') as unknown as { status: { phase?: string; cost?: { llmUSD?: string } }; stages: { name: string; result?: { reason?: string; summary?: string; usage?: { costUSD: number } } }[] };
  expect(state.status.phase).toBe('Failed');
  expect(Number(state.status.cost?.llmUSD)).toBeCloseTo(billed, 4);
  expect(billed).toBeLessThanOrEqual(1 + Math.max(...calls));
  const stage = (n: string) => state.stages.find((s) => s.name === n)?.result;
  const code = stage('split-i1-code-a0')!;
  const tests = stage('split-i1-test-a0')!;
  // Whichever ends on its budget first ends the task and the other is stopped with it (which one
  // depends on the machine): the strict test stage stays within its half either way, the lenient
  // code stage may pass its half by one call.
  expect([code.reason, tests.reason]).toContain('Budget');
  for (const r of [code, tests]) expect(['Budget', 'Stopped']).toContain(r.reason);
  if (tests.reason === 'Budget') expect(tests.summary).toContain('the next model call could cost up to');
  expect(tests.usage!.costUSD).toBeGreaterThan(0);
  expect(tests.usage!.costUSD).toBeLessThanOrEqual(0.5);
  expect(code.usage!.costUSD).toBeLessThanOrEqual(0.5 + Math.max(...calls));
  // Nothing ran after the cap: every request the API saw is billed and in status.
  expect(fake.requests).toHaveLength(calls.length);
}, 240_000);

test('a stage stopped mid-call still reports its spend: status.cost equals what the API billed', async () => {
  // $0.45 a code call at claude-sonnet-4-6 prices ($3/M in, $15/M out).
  const call = { input_tokens: 100_000, output_tokens: 10_000 };
  let testCalls = 0;
  const fake = await fakeModel((req) => {
    if (roleOf(req) === 'code') return toolUse('list_files', {}, { usage: call });
    return testCalls++ === 0 ? toolUse('list_files', {}, { usage: honest(req, 1000) }) : { kind: 'hang' };
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
  const testSpend = billed - 0.9;
  expect(testSpend).toBeGreaterThan(0);
  const state = readState(dir, 'capped') as unknown as { status: { cost?: { llmUSD?: string } }; stages: { name: string; result?: { reason?: string; usage?: { costUSD: number } } }[] };
  // What the model API billed is what the task shows, the stopped test stage's first call included.
  expect(Number(state.status.cost?.llmUSD)).toBeCloseTo(billed, 4);
  expect(state.stages.find((s) => s.name === 'capped-i1-test-a0')?.result).toMatchObject({ reason: 'Stopped' });
  expect(state.stages.find((s) => s.name === 'capped-i1-test-a0')!.result!.usage!.costUSD).toBeCloseTo(testSpend, 6);
  // Over the cap by less than one call.
  expect(billed - 1).toBeLessThan(0.45);
}, 240_000);
