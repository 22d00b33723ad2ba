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
