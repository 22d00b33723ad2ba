// Every way a stage Pod can end without a result, through the real operator: the agent crashes, the
// kubelet evicts the Pod or kills it at its deadline, the agent writes garbage, someone deletes the
// Pod, the node goes away. Each must become a stage record with a reason, a retry under the next
// attempt's name while attempts remain, and a task that fails with that reason once they are used.
//
// The scenarios wait out the loop's retry backoff (10 s), so they run concurrently, each on its own
// task; the lost node has a node group and a pool of its own, so deleting it touches no other Pod.
import { jest } from '@jest/globals';
import type * as k8s from '@kubernetes/client-node';
import type { CodingTask } from '../../../operator/src/api/types.js';
import type { Controller } from '../../../operator/src/controller/controller.js';
import { AGENT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { TASK_LABEL } from '../../../operator/src/controller/pods/labels.js';
import { completePod, evictPod, exceedDeadline, waitForPod } from '../../harness/kubelet.js';
import { eventually, kube } from '../../harness/kube.js';
import type {
  Agents} from './support.js';
import {
  createPool,
  createTask,
  success,
  taskEvents,
  TestBed,
  waitForPhase,
  type Script,
  type StagePod,
} from './support.js';

jest.setTimeout(170_000);

let bed: TestBed;
let ns: string;
let operator: Controller;
let agents: Agents | undefined;
let lostNodes: string[] = [];
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-fail', scripts);
  ns = bed.ns;
  [, lostNodes] = await Promise.all([bed.gpuNodes(4), bed.gpuNodes(2, `${ns}-lost`)]);
  // Two tries of a run stage: one retry (after the loop's 10 s backoff), then the task fails.
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 4, maxConcurrentTasks: 16, runMaxAttempts: 2 });
  await createPool(ns, { name: 'lost', isolationPrefix: `${ns}-lost`, gpuLimit: 2, runMaxAttempts: 2 });
  agents = await bed.startAgents();
  operator = await bed.startOperator();
});

afterAll(() => bed?.tearDown());

type Rec = { name: string; state: string; reason?: string };

/** The records of a task's run stages, as (name, state, reason). */
function runRecords(t: CodingTask): Rec[] {
  return (t.status?.stages ?? []).filter((s) => s.role === 'run').map((s) => ({ name: s.name, state: s.state ?? '', ...(s.reason ? { reason: s.reason } : {}) }));
}

/** The run stage's Pod of this attempt, once the agents saw it. */
function runPod(task: string, attempt: number): Promise<StagePod> {
  return eventually(() => agents!.stagesOf(task).find((s) => s.role === 'run' && s.attempt === attempt) ?? false, { timeoutMs: 60_000 });
}

/** A failed task's conditions and Events say the same as its status.reason. */
async function expectFailedWith(t: CodingTask, reason: string): Promise<void> {
  expect(t.status?.phase).toBe('Failed');
  expect(t.status?.reason).toBe(reason);
  const cond = (type: string) => t.status?.conditions?.find((c) => c.type === type);
  expect(cond('Failed')).toMatchObject({ status: 'True', reason, observedGeneration: t.metadata.generation });
  expect(cond('Ready')).toMatchObject({ status: 'False', reason });
  expect(cond('Progressing')).toMatchObject({ status: 'False', reason });
  expect(cond('Succeeded')).toBeUndefined();
  await eventually(async () => {
    const warnings = (await taskEvents(ns, t.metadata.name)).filter((e) => e.type === 'Warning');
    expect(warnings.map((e) => e.reason)).toContain(reason);
  });
}

/** Each stage that ended with an error has its own Warning Event naming the stage and the reason. */
async function expectAbortEvents(task: string, records: Rec[]): Promise<void> {
  const aborted = records.filter((r) => r.state === 'Error');
  await eventually(async () => {
    const events = (await taskEvents(ns, task)).filter((e) => e.type === 'Warning' && e.reason === 'StageAborted');
    for (const r of aborted) expect(events.map((e) => e.message)).toContainEqual(expect.stringContaining(`${r.name} ended with an error (${r.reason})`));
  });
}

/** Every stage Pod of the task was created once: a retry is a new attempt with a new name. */
function expectEachPodOnce(task: string): void {
  const names = new Set(agents!.stagesOf(task).map((s) => s.name));
  expect(agents!.adds(task)).toBe(names.size);
}

// The slowest scenario first, so the others run while the Pod garbage collector takes its time.
test.concurrent('(f) a lost node: its run Pod is garbage-collected and the stage is retried on another node', async () => {
  const task = 'node-lost';
  scripts.set(task, (s) => (s.role === 'run' && s.attempt === 0 ? { leave: true } : { result: success(s) }));
  await createTask(ns, task, { pool: 'lost' });
  const a0 = await runPod(task, 0);
  const running = await waitForPod(ns, a0.name, (p) => !!p.spec?.nodeName && p.status?.phase === 'Running', 60_000);
  const node = running.spec!.nodeName!;
  expect(lostNodes).toContain(node);
  // The node object is gone (a deleted VM, a scaled-down node pool). Nothing reports the Pod's end;
  // the kube-controller-manager's Pod GC finds it bound to a node that no longer exists, marks it
  // (DisruptionTarget DeletionByPodGC, phase Failed) and deletes it, after a 40 s quarantine.
  const lostAt = Date.now();
  await kube().core.deleteNode({ name: node });
  await eventually(async () => {
    const pods = await kube().core.listNamespacedPod({ namespace: ns, fieldSelector: `metadata.name=${a0.name}` });
    const p = pods.items.find((x) => x.metadata?.uid === a0.pod.metadata?.uid);
    if (p) throw new Error(`${a0.name} still exists (${p.status?.phase})`);
  }, { timeoutMs: 120_000, intervalMs: 500 });
  const gcSeconds = (Date.now() - lostAt) / 1000;

  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  process.stderr.write(`\nnode lost: the Pod GC removed ${a0.name} ${gcSeconds.toFixed(1)} s after its node was deleted; stages ${JSON.stringify(runRecords(t))}\n`);
  expect(t.status?.phase).toBe('Succeeded');
  const recs = runRecords(t);
  expect(recs.map((r) => [r.name, r.state])).toEqual([
    [`${task}-i1-run-a0`, 'Error'],
    [`${task}-i1-run-a1`, 'Succeeded'],
  ]);
  // NodeLost when the operator saw the Pod GC's mark; PodGone when it saw only the Pod disappear.
  expect(['NodeLost', 'PodGone']).toContain(recs[0]!.reason);
  const a1 = agents!.stagesOf(task).find((s) => s.role === 'run' && s.attempt === 1)!;
  expect((await kube().core.readNamespacedPod({ namespace: ns, name: a1.name })).spec?.nodeName).not.toBe(node);
  expectEachPodOnce(task);
  await expectAbortEvents(task, recs);
});

test.concurrent('(a) a crashing run agent is retried as the next attempt, then the task fails ExitCode', async () => {
  const task = 'crash';
  scripts.set(task, (s) => (s.role === 'run' ? { crash: 3 } : { result: success(s) }));
  await createTask(ns, task);
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  await expectFailedWith(t, 'ExitCode');
  const recs = runRecords(t);
  expect(recs).toEqual([
    { name: `${task}-i1-run-a0`, state: 'Error', reason: 'ExitCode' },
    { name: `${task}-i1-run-a1`, state: 'Error', reason: 'ExitCode' },
  ]);
  const stage = t.status!.stages!.find((s) => s.name === `${task}-i1-run-a1`)!;
  expect(stage.summary).toContain('exited with code 3');
  expect(t.status?.message).toContain('after 2 attempts');
  expectEachPodOnce(task);
  await expectAbortEvents(task, recs);
});

test.concurrent('(b) an evicted run Pod is retried, and the retry passes', async () => {
  const task = 'evicted';
  scripts.set(task, (s) => (s.role === 'run' && s.attempt === 0 ? { leave: true } : { result: success(s) }));
  await createTask(ns, task);
  const a0 = await runPod(task, 0);
  await evictPod(ns, a0.name, { container: AGENT_CONTAINER, timeoutMs: 60_000 });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  expect(t.status?.phase).toBe('Succeeded');
  expect(t.status?.conditions?.find((c) => c.type === 'Succeeded')).toMatchObject({ status: 'True', observedGeneration: t.metadata.generation });
  expect(t.status?.conditions?.find((c) => c.type === 'Failed')).toBeUndefined();
  const recs = runRecords(t);
  expect(recs).toEqual([
    { name: `${task}-i1-run-a0`, state: 'Error', reason: 'Evicted' },
    { name: `${task}-i1-run-a1`, state: 'Succeeded' },
  ]);
  expectEachPodOnce(task);
  await expectAbortEvents(task, recs);
});

test.concurrent('(c) a run Pod past its activeDeadlineSeconds is DeadlineExceeded; the task fails so once retries are used', async () => {
  const task = 'deadline';
  scripts.set(task, (s) => (s.role === 'run' ? { leave: true } : { result: success(s) }));
  await createTask(ns, task);
  for (const attempt of [0, 1]) {
    const pod = await runPod(task, attempt);
    // The deadline the kubelet enforces is the pool's run timeout (CRD default 900 s).
    expect(pod.pod.spec?.activeDeadlineSeconds).toBe(900);
    await exceedDeadline(ns, pod.name, { container: AGENT_CONTAINER, timeoutMs: 60_000 });
  }
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  await expectFailedWith(t, 'DeadlineExceeded');
  const recs = runRecords(t);
  expect(recs).toEqual([
    { name: `${task}-i1-run-a0`, state: 'Error', reason: 'DeadlineExceeded' },
    { name: `${task}-i1-run-a1`, state: 'Error', reason: 'DeadlineExceeded' },
  ]);
  expectEachPodOnce(task);
  await expectAbortEvents(task, recs);
});

test.concurrent('(d) a termination message that is not JSON is a stage error (BadTerminationMessage), and the operator carries on', async () => {
  const task = 'garbage';
  scripts.set(task, (s) => (s.role === 'run' && s.attempt === 0 ? { leave: true } : { result: success(s) }));
  await createTask(ns, task);
  const a0 = await runPod(task, 0);
  // The agent exits 0 but its result is unreadable.
  await completePod(ns, a0.name, { container: AGENT_CONTAINER, terminationMessage: 'not json', timeoutMs: 60_000 });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  expect(t.status?.phase).toBe('Succeeded');
  const recs = runRecords(t);
  expect(recs).toEqual([
    { name: `${task}-i1-run-a0`, state: 'Error', reason: 'BadTerminationMessage' },
    { name: `${task}-i1-run-a1`, state: 'Succeeded' },
  ]);
  expect(t.status!.stages!.find((s) => s.name === a0.name)!.summary).toContain('invalid result: not JSON');
  expect(operator.isLeader()).toBe(true);
  expectEachPodOnce(task);
  await expectAbortEvents(task, recs);
});

/**
 * A run stage whose Pod is deleted while it runs is retried as attempt 1, never recreated as
 * attempt 0: a second Pod of the same name would run the stage twice under one record.
 */
async function deletedWhileRunning(task: string, gracePeriodSeconds: number | undefined, reasons: string[]): Promise<void> {
  scripts.set(task, (s) => (s.role === 'run' && s.attempt === 0 ? { leave: true } : { result: success(s) }));
  await createTask(ns, task);
  const a0 = await runPod(task, 0);
  await waitForPod(ns, a0.name, (p) => p.status?.phase === 'Running', 60_000);
  await kube().core.deleteNamespacedPod({ namespace: ns, name: a0.name, ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  const recs = runRecords(t);
  process.stderr.write(`\n${task}: run records after the delete ${JSON.stringify(recs)}\n`);
  expect(t.status?.phase).toBe('Succeeded');
  expect(recs.map((r) => [r.name, r.state])).toEqual([
    [`${task}-i1-run-a0`, 'Error'],
    [`${task}-i1-run-a1`, 'Succeeded'],
  ]);
  expect(reasons).toContain(recs[0]!.reason);
  // The driver saw each stage Pod name once, with one uid.
  expectEachPodOnce(task);
  const pods = await kube().core.listNamespacedPod({ namespace: ns, labelSelector: `${TASK_LABEL}=${task}` });
  expect(pods.items.map((p: k8s.V1Pod) => p.metadata!.name).sort()).toEqual([`${task}-i1-code-a0`, `${task}-i1-run-a1`, `${task}-i1-test-a0`]);
  await expectAbortEvents(task, recs);
}

test.concurrent('(e) a run Pod deleted while Running (graceful delete) is retried as the next attempt', async () => {
  // The operator sees the deletionTimestamp (Deleted) or, if kwok removed the Pod first, its absence (PodGone).
  await deletedWhileRunning('deleted', undefined, ['Deleted', 'PodGone']);
});

test.concurrent('(e) a run Pod force-deleted while Running (grace period 0) is retried as the next attempt', async () => {
  // The operator may still see it with a deletionTimestamp (Deleted), or only its absence (PodGone).
  await deletedWhileRunning('forced', 0, ['PodGone', 'Deleted']);
});

// After the concurrent group: this one restarts the operator.
test('(e) a run Pod deleted while the operator is down is retried as the next attempt, not recreated under its name', async () => {
  const task = 'deleted-offline';
  // A second Pod named like attempt 0 (the bug this guards against) is finished, so the task still
  // ends and the assertions below say what went wrong instead of a timeout.
  let a0Pods = 0;
  scripts.set(task, (s) => {
    if (s.role !== 'run' || s.attempt !== 0) return { result: success(s) };
    return ++a0Pods === 1 ? { leave: true } : { result: success(s) };
  });
  await createTask(ns, task);
  const a0 = await runPod(task, 0);
  await waitForPod(ns, a0.name, (p) => p.status?.phase === 'Running', 60_000);
  // The operator stops (a rollout, a crash, a lost Lease); meanwhile the Pod goes for good.
  await operator.stop();
  await kube().core.deleteNamespacedPod({ namespace: ns, name: a0.name, gracePeriodSeconds: 0 });
  await eventually(async () => {
    const pods = await kube().core.listNamespacedPod({ namespace: ns, fieldSelector: `metadata.name=${a0.name}` });
    expect(pods.items).toEqual([]);
  });
  operator = await bed.startOperator();
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed'], 60_000);
  const recs = runRecords(t);
  process.stderr.write(`\n${task}: run records ${JSON.stringify(recs)}; Pods named ${a0.name} created: ${a0Pods}\n`);
  // The first attempt's loss is on record and the retry is attempt 1.
  expect(recs.map((r) => [r.name, r.state])).toEqual([
    [`${task}-i1-run-a0`, 'Error'],
    [`${task}-i1-run-a1`, 'Succeeded'],
  ]);
  expect(a0Pods).toBe(1);
  expect(recs[0]!.reason).toBe('PodGone');
  expect(t.status?.phase).toBe('Succeeded');
  expectEachPodOnce(task);
});
