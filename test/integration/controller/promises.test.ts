// The loop's promises under real-world faults (issue #16) through the real operator on a real
// apiserver: stage Pods answered by the agents driver (support.ts) with the results a real agent
// writes in those situations. The scenarios wait out the loop's retry backoff, so they run
// concurrently, each on its own task.
import { jest } from '@jest/globals';
import type { Controller } from '../../../operator/src/controller/controller.js';
import { AGENT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { kube } from '../../harness/kube.js';
import { createPool, createTask, success, TestBed, waitForPhase, type Agents, type Script } from './support.js';

jest.setTimeout(170_000);

let bed: TestBed;
let ns: string;
let agents: Agents;
let operator: Controller;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-promise', scripts);
  ns = bed.ns;
  await bed.gpuNodes(4);
  await createPool(ns, { isolationPrefix: ns, spec: { modelRetryWindow: '2m', roles: { code: { maxAttempts: 1 } } } });
  agents = await bed.startAgents();
  operator = await bed.startOperator();
});

afterAll(() => bed?.tearDown());

const envOf = async (pod: string): Promise<Record<string, string>> => {
  const p = await kube().core.readNamespacedPod({ namespace: ns, name: pod });
  const c = p.spec!.containers.find((x) => x.name === AGENT_CONTAINER)!;
  return Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
};

test.concurrent('a model outage is not a failed task: ModelUnavailable is retried past maxAttempts, and the pool\'s window reaches the agent', async () => {
  const task = 'outage';
  scripts.set(task, (s) =>
    s.role === 'code' && s.attempt === 0
      ? { result: { role: 'code', outcome: 'Error', reason: 'ModelUnavailable', summary: 'the model API was unavailable for the whole retry window (120s, 9 attempts, last: HTTP 529 Overloaded)', usage: { inputTokens: 0, outputTokens: 0, costUSD: 0 } } }
      : { result: success(s) },
  );
  await createTask(ns, task);
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 90_000);
  expect({ phase: t.status?.phase, reason: t.status?.reason }).toEqual({ phase: 'Succeeded', reason: 'TestsPassed' });
  const code = (t.status?.stages ?? []).filter((s) => s.role === 'code').map((s) => [s.name, s.state, s.reason]);
  expect(code).toEqual([
    [`${task}-i1-code-a0`, 'Error', 'ModelUnavailable'],
    [`${task}-i1-code-a1`, 'Succeeded', undefined],
  ]);
  expect((await envOf(`${task}-i1-code-a1`)).AUTORUN_MODEL_RETRY_WINDOW_SECONDS).toBe('120');
  expect(operator).toBeDefined();
  expect(agents.errors).toEqual([]);
});

test.concurrent('hidden acceptance tests never reach a model: the repair Pod gets the count and the hint, no report and no name', async () => {
  const task = 'hidden';
  const secret = 'test_hidden_secret_negative_zero';
  const hint = 'Zero and negative numbers are in the goal.';
  scripts.set(task, (s) => {
    if (s.role !== 'acceptance') return { result: success(s) };
    if (s.iteration === 1) {
      return { result: { role: 'acceptance', outcome: 'Failed', reason: 'AcceptanceFailed', commit: 'acc-1', summary: `1 failed: ${secret}`, tests: { passed: 4, failed: 1, total: 5, failing: [secret] } } };
    }
    return { result: success(s) };
  });
  await createTask(ns, task, { acceptance: true, acceptanceHint: hint });
  await kube().core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `${task}-acceptance` }, data: { 'test_hidden.py': `def ${secret}():\n    assert False\n` } } });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 90_000);
  expect({ phase: t.status?.phase, reason: t.status?.reason }).toEqual({ phase: 'Succeeded', reason: 'AcceptancePassed' });
  const repair = await kube().core.readNamespacedPod({ namespace: ns, name: `${task}-i2-repair-a0` });
  const env = await envOf(repair.metadata!.name!);
  expect(env.AUTORUN_HIDDEN_FAILED).toBe('1');
  expect(env.AUTORUN_ACCEPTANCE_HINT).toBe(hint);
  expect(env.AUTORUN_FAILING).toBeUndefined();
  expect(env.AUTORUN_FAILURE_REPORT).toBeUndefined();
  // Nothing of the hidden tests in the Pod at all: not in its env, volumes or mounts.
  expect(JSON.stringify(repair.spec)).not.toContain(secret);
  expect(JSON.stringify(repair.spec)).not.toContain('-report');
  const cms = await kube().core.listNamespacedConfigMap({ namespace: ns });
  expect(cms.items.map((c) => c.metadata!.name)).not.toContain(`${task}-i2-report`);
});

test.concurrent('a hanging test is reported as such: the record keeps the hung test, repair is told, the task ends saying so', async () => {
  const task = 'hangs';
  const hung = 'tests/test_fizzbuzz.py::test_waits_for_ever';
  scripts.set(task, (s) =>
    s.role === 'run'
      ? { result: { role: 'run', outcome: 'Failed', reason: 'TestTimeout', commit: `run-${s.iteration}`, hungTest: hung, summary: `tests hung: killed after 600s while ${hung} ran`, tests: { passed: 1, failed: 0, total: 1, failing: [] } } }
      : { result: success(s) },
  );
  await createTask(ns, task, { maxIterations: 2 });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 90_000);
  expect(t.status?.reason).toBe('MaxIterations');
  expect(t.status?.message).toBe(`iteration 3 would exceed spec.limits.maxIterations (2); the tests still hang: the tests hung: ${hung} was killed at spec.test.timeoutSeconds`);
  // The apiserver kept the field (the CRD schema has it; an unknown field would have been pruned).
  expect((t.status?.stages ?? []).find((s) => s.name === `${task}-i1-run-a0`)?.hungTest).toBe(hung);
  const env = await envOf(`${task}-i2-repair-a0`);
  expect(env.AUTORUN_TESTS_HUNG).toBe('true');
  expect(env.AUTORUN_HUNG_TEST).toBe(hung);
});

test.concurrent('the cost cap holds for the task: code ∥ test Pods each get half of what is left; a stopped stage\'s spend is counted', async () => {
  const task = 'capped';
  const spent = (costUSD: number) => ({ inputTokens: 1000, outputTokens: 100, costUSD });
  scripts.set(task, (s) => {
    // The test agent was stopped (SIGTERM: an eviction, a drained node) after spending $0.30, and said so.
    if (s.role === 'test' && s.attempt === 0) return { result: { role: 'test', outcome: 'Error', reason: 'Stopped', summary: 'stopped by SIGTERM before the stage finished', usage: spent(0.3) } };
    if (s.role === 'code' || s.role === 'test') return { result: { ...success(s), usage: spent(0.1) } };
    return { result: success(s) };
  });
  await createTask(ns, task, { maxCostUSD: '1' });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 90_000);
  expect({ phase: t.status?.phase, reason: t.status?.reason }).toEqual({ phase: 'Succeeded', reason: 'TestsPassed' });
  const budget = async (pod: string) => (await envOf(pod)).AUTORUN_BUDGET_USD;
  expect(await budget(`${task}-i1-code-a0`)).toBe('0.5');
  expect(await budget(`${task}-i1-test-a0`)).toBe('0.5');
  // The retry draws on what the stopped attempt left of the test stage's half.
  expect(await budget(`${task}-i1-test-a1`)).toBe('0.2');
  // Every dollar the agents reported, the stopped attempt's included.
  expect(t.status?.cost?.llmUSD).toBe('0.5000');
  expect((t.status?.stages ?? []).find((s) => s.name === `${task}-i1-test-a0`)).toMatchObject({ state: 'Error', reason: 'Stopped', costUSD: '0.300000' });
});
