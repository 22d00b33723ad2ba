// The operator against a real control plane (kube-apiserver, controller manager, scheduler, kwok
// nodes), running as a ServiceAccount bound to exactly its ClusterRole. Agents are played by a
// driver that finishes each stage Pod with the StageResult a real agent writes.
import { jest } from '@jest/globals';
import { GROUP, VERSION } from '../../../operator/src/api/types.js';
import { stageName } from '../../../operator/src/core/names.js';
import { reportConfigMapName, REPORT_KEY } from '../../../operator/src/controller/pods/report.js';
import { eventually, kube } from '../../harness/kube.js';
import type {
  Agents} from './support.js';
import {
  createPool,
  createTask,
  failingRun,
  getTask,
  success,
  TestBed,
  waitForPhase,
  type Script,
} from './support.js';

jest.setTimeout(180_000);

let bed: TestBed;
let ns: string;
let agents: Agents | undefined;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-life', scripts);
  ns = bed.ns;
  await bed.gpuNodes(4);
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 4, maxConcurrentTasks: 16, runMaxAttempts: 2 });
  agents = await bed.startAgents();
  await bed.startOperator();
});

afterAll(() => bed?.tearDown());

function stageNames(task: string): string[] {
  return agents!.stagesOf(task).map((s) => `${s.role}/i${s.iteration}/a${s.attempt}`).sort();
}

test('a task whose tests pass the first time succeeds after code, test and run', async () => {
  scripts.set('pass', (s) => ({ result: success(s) }));
  await createTask(ns, 'pass');
  const t = await waitForPhase(ns, 'pass', ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  expect(t.status?.reason).toBe('TestsPassed');
  expect(t.status?.tests).toMatchObject({ passed: 10, failed: 0, total: 10 });
  expect(stageNames('pass')).toEqual(['code/i1/a0', 'run/i1/a0', 'test/i1/a0']);
  expect(t.status?.conditions?.find((c) => c.type === 'Succeeded')?.status).toBe('True');
  expect(t.status?.stages?.map((s) => s.state)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
  // Events on the transitions, posted once each.
  const events = await kube().core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=pass,involvedObject.kind=CodingTask` });
  expect(events.items.length).toBeGreaterThan(0);
  expect(events.items.every((e) => (e.count ?? 1) === 1)).toBe(true);
});

test.each([
  ['63 characters (the longest label value)', `long-${'n'.repeat(58)}`],
  ['253 characters, with dots (the longest name)', `team.fizzbuzz.${'x'.repeat(120)}.${'y'.repeat(118)}`],
])('a task named with %s runs through code, test, run and a repair; its Pods and ConfigMap get short unique names', async (_, name) => {
  scripts.set(name, (s) => {
    if (s.role === 'run' && s.iteration === 1) return { result: failingRun(s, ['test_fizz']) };
    return { result: success(s) };
  });
  await createTask(ns, name);
  const t = await waitForPhase(ns, name, ['Succeeded', 'Failed']);
  expect({ phase: t.status?.phase, reason: t.status?.reason }).toEqual({ phase: 'Succeeded', reason: 'TestsPassed' });
  expect(stageNames(name)).toEqual(['code/i1/a0', 'repair/i2/a0', 'run/i1/a0', 'run/i2/a0', 'test/i1/a0']);
  for (const s of agents!.stagesOf(name)) {
    expect(s.name.length).toBeLessThanOrEqual(63);
    expect(s.name).toBe(stageName(name, s));
  }
  const cm = await kube().core.readNamespacedConfigMap({ namespace: ns, name: reportConfigMapName(name, 2) });
  expect(cm.metadata?.ownerReferences?.[0]?.name).toBe(name);
});

test('a failing run goes to repair with the failure report, then passes', async () => {
  scripts.set('repair', (s) => {
    if (s.role === 'run' && s.iteration === 1) return { result: failingRun(s, ['test_fizz', 'test_buzz']) };
    return { result: success(s) };
  });
  await createTask(ns, 'repair');
  const t = await waitForPhase(ns, 'repair', ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  expect(t.status?.iteration).toBe(2);
  expect(stageNames('repair')).toEqual(['code/i1/a0', 'repair/i2/a0', 'run/i1/a0', 'run/i2/a0', 'test/i1/a0']);
  // The report ConfigMap exists, is owned by the task, and the repair Pod mounts it.
  const cm = await kube().core.readNamespacedConfigMap({ namespace: ns, name: reportConfigMapName('repair', 2) });
  expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'CodingTask', name: 'repair', uid: t.metadata.uid });
  expect(cm.data?.[REPORT_KEY]?.length).toBeGreaterThan(0);
  const repairPod = agents!.stagesOf('repair').find((s) => s.role === 'repair')!.pod;
  expect(JSON.stringify(repairPod.spec?.volumes)).toContain(reportConfigMapName('repair', 2));
});

test('repairs that run out of iterations end Failed/MaxIterations', async () => {
  scripts.set('exhaust', (s) => {
    // Progress every round (one test fewer failing), so the loop repairs instead of stalling.
    if (s.role === 'run') return { result: failingRun(s, ['a', 'b', 'c', 'd', 'e'].slice(0, 5 - s.iteration)) };
    return { result: success(s) };
  });
  await createTask(ns, 'exhaust', { maxIterations: 2 });
  const t = await waitForPhase(ns, 'exhaust', ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Failed');
  expect(t.status?.reason).toBe('MaxIterations');
  expect(agents!.stagesOf('exhaust').filter((s) => s.role === 'run')).toHaveLength(2);
});

test('a stalled task gets one fresh start, then fails Stalled', async () => {
  scripts.set('stall', (s) => (s.role === 'run' ? { result: failingRun(s, ['test_same']) } : { result: success(s) }));
  await createTask(ns, 'stall', { maxIterations: 20 });
  const t = await waitForPhase(ns, 'stall', ['Succeeded', 'Failed'], 90_000);
  expect(t.status?.phase).toBe('Failed');
  expect(t.status?.reason).toBe('Stalled');
  expect(t.status?.freshStarts).toBe(1);
  // The fresh start is a code stage after the first iteration.
  expect(agents!.stagesOf('stall').some((s) => s.role === 'code' && s.iteration > 1)).toBe(true);
});

test('a flaky test is recorded, not repaired', async () => {
  scripts.set('flaky', (s) => (s.role === 'run' ? { result: failingRun(s, [], 10, ['test_timing']) } : { result: success(s) }));
  await createTask(ns, 'flaky');
  const t = await waitForPhase(ns, 'flaky', ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  expect(t.status?.tests?.flaky).toEqual(['test_timing']);
  expect(agents!.stagesOf('flaky').some((s) => s.role === 'repair')).toBe(false);
});

test('the cost cap stops the task Failed/CostLimit', async () => {
  scripts.set('costly', (s) => ({ result: success(s, 0.04) }));
  await createTask(ns, 'costly', { maxCostUSD: '0.05' });
  const t = await waitForPhase(ns, 'costly', ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Failed');
  expect(t.status?.reason).toBe('CostLimit');
  expect(agents!.stagesOf('costly').some((s) => s.role === 'run')).toBe(false);
});

test('an OOMKilled run Pod is retried, then the task fails OOMKilled', async () => {
  scripts.set('oom', (s) => (s.role === 'run' ? { oom: true } : { result: success(s) }));
  await createTask(ns, 'oom');
  // runMaxAttempts 2: one retry after the loop's 10 s backoff.
  const t = await waitForPhase(ns, 'oom', ['Succeeded', 'Failed'], 60_000);
  expect(t.status?.phase).toBe('Failed');
  expect(t.status?.reason).toBe('OOMKilled');
  expect(stageNames('oom').filter((n) => n.startsWith('run/'))).toEqual(['run/i1/a0', 'run/i1/a1']);
});

test('an unschedulable stage Pod is reported in the Schedulable condition', async () => {
  // A pool whose GPU Pods select a node label no node has.
  await createPoolNamed('nowhere', { 'autorun.dev/no-such-node': 'true' });
  scripts.set('stuck', (s) => (s.role === 'run' ? { leave: true } : { result: success(s) }));
  await createTask(ns, 'stuck', { pool: 'nowhere' });
  const t = await eventually(
    async () => {
      const task = await getTask(ns, 'stuck');
      const c = task.status?.conditions?.find((x) => x.type === 'Schedulable');
      if (c?.status !== 'False' || c.reason !== 'Unschedulable') throw new Error(`Schedulable is ${JSON.stringify(c)}`);
      return task;
    },
    { timeoutMs: 60_000 },
  );
  expect(t.status?.phase).toBe('Running');
});

test('deleting a task removes its Pods through the garbage collector', async () => {
  scripts.set('doomed', (s) => (s.role === 'code' ? { leave: true } : { result: success(s) }));
  await createTask(ns, 'doomed');
  await eventually(() => agents!.stagesOf('doomed').length === 2);
  await kube().custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', name: 'doomed', propagationPolicy: 'Background' });
  await eventually(
    async () => {
      const pods = await kube().core.listNamespacedPod({ namespace: ns, labelSelector: 'autorun.dev/task=doomed' });
      if (pods.items.length) throw new Error(`${pods.items.length} Pods left`);
    },
    { timeoutMs: 60_000 },
  );
});

test('a task deleted with --cascade=orphan and applied again neither adopts nor trips over the old Pods', async () => {
  const list = async () => (await kube().core.listNamespacedPod({ namespace: ns, labelSelector: 'autorun.dev/task=again' })).items;
  scripts.set('again', (s) => (s.role === 'run' ? { leave: true } : { result: success(s) }));
  await createTask(ns, 'again');
  await eventually(() => expect(agents!.stagesOf('again').map((s) => s.role)).toContain('run'), { timeoutMs: 30_000 });
  await kube().custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', name: 'again', propagationPolicy: 'Orphan' });
  // The garbage collector strips the owner references: the Pods stay, finished code and test
  // results included, under the names the new task will want.
  await eventually(async () => {
    const pods = await list();
    expect(pods).toHaveLength(3);
    expect(pods.every((p) => !p.metadata?.ownerReferences?.length)).toBe(true);
  }, { timeoutMs: 30_000 });
  const oldUids = new Set((await list()).map((p) => p.metadata!.uid));

  scripts.set('again', (s) => ({ result: success(s) }));
  const second = await createTask(ns, 'again');
  const t = await waitForPhase(ns, 'again', ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  const pods = await list();
  expect(pods.map((p) => p.metadata!.name).sort()).toEqual(['again-i1-code-a0', 'again-i1-run-a0', 'again-i1-test-a0']);
  // Every stage ran again under the new task: none of the old Pods (or their results) survived.
  expect(pods.filter((p) => oldUids.has(p.metadata!.uid))).toEqual([]);
  expect(pods.every((p) => p.metadata?.ownerReferences?.[0]?.uid === second.metadata.uid)).toBe(true);
});

async function createPoolNamed(name: string, nodeSelector: Record<string, string>): Promise<void> {
  await createPool(ns, { name, nodeSelector, gpuLimit: 4 });
}
