// AgentPools and what a task sees of them, through the real operator: a pool that does not exist
// yet, a full pool (slots and GPUs) with its status counters and FIFO queue, the Events of a task's
// transitions (suspend and resume included), hidden acceptance tests, and the readiness probe.
import { jest } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION, type CodingTask } from '../../../operator/src/api/types.js';
import { Controller } from '../../../operator/src/controller/controller.js';
import { createLogger } from '../../../operator/src/util/log.js';
import { FaultProxy } from '../../harness/fault-proxy.js';
import { completePod } from '../../harness/kubelet.js';
import { eventually, kube } from '../../harness/kube.js';
import type {
  Agents} from './support.js';
import {
  createPool,
  createTask,
  getPool,
  getTask,
  success,
  taskEvents,
  TestBed,
  waitForPhase,
  type Script,
} from './support.js';

jest.setTimeout(170_000);

let bed: TestBed;
let ns: string;
let operator: Controller;
let agents: Agents | undefined;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-pools', scripts);
  ns = bed.ns;
  await bed.gpuNodes(3);
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 2, maxConcurrentTasks: 16, runMaxAttempts: 2 });
  agents = await bed.startAgents();
  operator = await bed.startOperator();
});

afterAll(() => bed?.tearDown());

const condition = (t: CodingTask, type: string) => t.status?.conditions?.find((c) => c.type === type);

async function patchTaskSpec(name: string, spec: Record<string, unknown>): Promise<CodingTask> {
  return (await kube().custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', name, body: { spec } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  )) as CodingTask;
}

/** An Event as "Reason" or, for a stage's Event, "Reason stage-name". */
function eventKey(task: string, e: k8s.CoreV1Event): string {
  const subject = e.message?.split(' ')[0] ?? '';
  return subject.startsWith(`${task}-i`) ? `${e.reason} ${subject}` : (e.reason ?? '');
}

test('a task whose pool does not exist waits Pending (PoolReady=False, PoolMissing), then starts once the pool is created', async () => {
  const task = 'orphan';
  scripts.set(task, (s) => ({ result: success(s) }));
  await createTask(ns, task, { pool: 'late' });
  const waiting = await eventually(async () => {
    const t = await getTask(ns, task);
    const c = condition(t, 'PoolReady');
    if (t.status?.phase !== 'Pending' || c?.status !== 'False') throw new Error(`${task} is ${t.status?.phase}, PoolReady ${JSON.stringify(c)}`);
    return t;
  });
  expect(waiting.status?.reason).toBe('PoolMissing');
  expect(condition(waiting, 'PoolReady')).toMatchObject({ status: 'False', reason: 'PoolMissing', observedGeneration: waiting.metadata.generation });
  expect(condition(waiting, 'Progressing')).toMatchObject({ status: 'False', reason: 'PoolMissing' });
  // It stays that way: once the operator has seen the task and has nothing left to do (a
  // condition, not a sleep), no stage has started without a pool.
  await eventually(() => operator.caches.task(ns, task)?.status?.reason === 'PoolMissing' && operator.idle());
  expect(agents!.stagesOf(task)).toEqual([]);
  expect((await getTask(ns, task)).status?.phase).toBe('Pending');

  await createPool(ns, { name: 'late', isolationPrefix: ns, gpuLimit: 1 });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  expect(condition(t, 'PoolReady')).toMatchObject({ status: 'True', reason: 'Admitted' });
  expect(agents!.stagesOf(task).map((s) => s.role).sort()).toEqual(['code', 'run', 'test']);
  const reasons = (await taskEvents(ns, task)).map((e) => e.reason);
  expect(reasons.indexOf('Pending')).toBeGreaterThanOrEqual(0);
  expect(reasons.indexOf('Pending')).toBeLessThan(reasons.indexOf('Coding'));
});

test('tasks waiting for a missing pool cost a few reconciles each, not one per status write of every other waiting task', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `absent-${i}`);
  await Promise.all(names.map((n) => createTask(ns, n, { pool: 'absent' })));
  await eventually(async () => {
    const tasks = await Promise.all(names.map((n) => getTask(ns, n)));
    const waiting = tasks.filter((t) => t.status?.reason === 'PoolMissing');
    if (waiting.length < names.length) throw new Error(`${waiting.length} of ${names.length} report PoolMissing`);
  });
  // Counted once the operator has seen every write and has nothing left to do (a condition, not a
  // sleep): then one more waiting task's status write must wake none of the twelve. Each such write
  // used to wake all of them (~12 reconciles each).
  const settled = (task: string) => eventually(() => {
    if (operator.caches.task(ns, task)?.status?.reason !== 'PoolMissing' || !operator.idle()) throw new Error(`operator not idle after ${task}`);
  });
  for (const n of names) await settled(n);
  const reconciles = () => names.map((n) => operator.metrics.tally(`${ns}/${n}`).reconciles);
  const before = reconciles();
  expect(Math.min(...before)).toBeGreaterThan(0);
  await createTask(ns, 'absent-late', { pool: 'absent' });
  await settled('absent-late');
  expect(operator.metrics.tally(`${ns}/absent-late`).reconciles).toBeGreaterThan(0);
  expect(reconciles()).toEqual(before);
});

test('a full pool: status counts active and queued tasks and GPUs in use, holds its GPU limit, and admits first come first served', async () => {
  // Two slots but one GPU: the two admitted tasks' run stages take turns; three tasks queue.
  await createPool(ns, { name: 'narrow', isolationPrefix: ns, maxConcurrentTasks: 2, gpuLimit: 1 });
  // Not in alphabetical order: a tie broken by name would show.
  const names = ['fifo-e', 'fifo-c', 'fifo-a', 'fifo-d', 'fifo-b'];
  for (const n of names) scripts.set(n, (s) => ({ result: success(s), delayMs: s.role === 'run' ? 1500 : 50 }));
  agents!.maxLiveGpuPods = 0;
  const snapshots: { activeTasks?: number; queuedTasks?: number; gpusInUse?: number }[] = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const p = await getPool(ns, 'narrow');
      if (p.status) snapshots.push({ activeTasks: p.status.activeTasks, queuedTasks: p.status.queuedTasks, gpusInUse: p.status.gpusInUse });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    // One after the other, as `kubectl apply -f tasks/` does.
    for (const n of names) await createTask(ns, n, { pool: 'narrow' });
    const finished = await eventually(async () => {
      const tasks = await Promise.all(names.map((n) => getTask(ns, n)));
      const open = tasks.filter((t) => !['Succeeded', 'Failed'].includes(t.status?.phase ?? ''));
      if (open.length) throw new Error(`still open: ${open.map((t) => `${t.metadata.name}=${t.status?.phase}`).join(' ')}`);
      return tasks;
    }, { timeoutMs: 90_000, intervalMs: 250 });
    expect(finished.map((t) => t.status?.phase)).toEqual(names.map(() => 'Succeeded'));
  } finally {
    polling = false;
    await poll;
  }
  // At some point two tasks worked, three waited and the one GPU was held.
  expect(snapshots).toContainEqual({ activeTasks: 2, queuedTasks: 3, gpusInUse: 1 });
  expect(Math.max(...snapshots.map((s) => s.gpusInUse ?? 0))).toBe(1);
  expect(Math.max(...snapshots.map((s) => s.activeTasks ?? 0))).toBe(2);
  expect(agents!.maxLiveGpuPods).toBe(1);
  // First come, first served: the tasks' first Pods were created in the order they were applied.
  const firstPodAt = (task: string) => Math.min(...agents!.stagesOf(task).map((s) => agents!.createdAt.get(s.name)!));
  expect([...names].sort((a, b) => firstPodAt(a) - firstPodAt(b))).toEqual(names);
  // The three that waited were queued; the first two never were.
  const queued = await Promise.all(names.map(async (n) => !!(await getTask(ns, n)).status?.queuedAt));
  expect(queued).toEqual([false, false, true, true, true]);
  // And the counters return to zero.
  const idle = await eventually(async () => {
    const p = await getPool(ns, 'narrow');
    if (p.status?.activeTasks !== 0 || p.status?.queuedTasks !== 0 || p.status?.gpusInUse !== 0) throw new Error(`pool status ${JSON.stringify(p.status)}`);
    return p;
  });
  expect(idle.status?.observedGeneration).toBe(idle.metadata.generation);
  process.stderr.write(`\nnarrow pool: ${snapshots.length} status samples, distinct ${JSON.stringify([...new Set(snapshots.map((s) => JSON.stringify(s)))])}\n`);
});

test('a passing task posts one Event per transition, in order', async () => {
  const task = 'events';
  // The test agent takes longer than the code agent, so their ends are two reconciles.
  scripts.set(task, (s) => ({ result: success(s), delayMs: s.role === 'test' ? 800 : 200 }));
  await createTask(ns, task);
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  const stage = (role: string) => `${task}-i1-${role}-a0`;
  // What each reconcile that changed something posts. Events of one reconcile are created
  // concurrently, so their order within a group is not defined; the groups are in order.
  const groups = [
    [`StageStarted ${stage('code')}`, `StageStarted ${stage('test')}`, 'Coding'],
    [`StageSucceeded ${stage('code')}`],
    [`StageSucceeded ${stage('test')}`, `StageStarted ${stage('run')}`, 'Running'],
    [`StageSucceeded ${stage('run')}`, 'Succeeded'],
  ];
  const events = await eventually(async () => {
    const ev = await taskEvents(ns, task);
    if (ev.length < groups.flat().length) throw new Error(`${ev.length} events so far`);
    return ev;
  });
  const keys = events.map((e) => eventKey(task, e));
  let i = 0;
  for (const g of groups) {
    expect([...keys.slice(i, i + g.length)].sort()).toEqual([...g].sort());
    i += g.length;
  }
  expect(keys).toHaveLength(i);
  expect(events.every((e) => e.type === 'Normal' && (e.count ?? 1) === 1)).toBe(true);
  expect(events.every((e) => e.involvedObject.uid === t.metadata.uid && e.source?.component === 'autorun-operator')).toBe(true);
  // One phase Event per phase transition the operator made.
  const tally = operator.metrics.tally(`${ns}/${task}`);
  expect(keys.filter((k) => ['Coding', 'Running', 'Succeeded'].includes(k))).toHaveLength(tally.transitions);
  expect(tally.transitions).toBe(3);
});

test('suspend while the code agent works, then resume: Suspended and resume Events, observedGeneration follows each edit', async () => {
  const task = 'pause';
  scripts.set(task, (s) => (s.role === 'code' ? { leave: true } : { result: success(s) }));
  await createTask(ns, task);
  const code = await eventually(() => agents!.stagesOf(task).find((s) => s.role === 'code') ?? false);
  await waitForPhase(ns, task, ['Coding']);

  const suspended = await patchTaskSpec(task, { suspend: true });
  const gen2 = suspended.metadata.generation!;
  const s = await eventually(async () => {
    const t = await getTask(ns, task);
    if (t.status?.phase !== 'Suspended' || t.status.observedGeneration !== gen2) throw new Error(`${t.status?.phase} at observedGeneration ${t.status?.observedGeneration}, generation ${gen2}`);
    return t;
  });
  expect(condition(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'Suspended', observedGeneration: gen2 });
  // Suspending stops nothing: the code agent still works.
  const pod = await kube().core.readNamespacedPod({ namespace: ns, name: code.name });
  expect(pod.metadata?.deletionTimestamp).toBeUndefined();

  const resumed = await patchTaskSpec(task, { suspend: false });
  const gen3 = resumed.metadata.generation!;
  expect(gen3).toBeGreaterThan(gen2);
  const r = await eventually(async () => {
    const t = await getTask(ns, task);
    if (t.status?.phase !== 'Coding' || t.status.observedGeneration !== gen3) throw new Error(`${t.status?.phase} at observedGeneration ${t.status?.observedGeneration}, generation ${gen3}`);
    return t;
  });
  expect(condition(r, 'Progressing')).toMatchObject({ status: 'True', observedGeneration: gen3 });

  // The resume is a transition of its own, with an Event after the Suspended one: "Resumed", or the
  // phase the task went back to. (An Event deduplicated against the first Coding Event would hide it.)
  const after = await eventually(async () => {
    const ev = await taskEvents(ns, task);
    const keys = ev.map((e) => e.reason ?? '');
    const at = keys.indexOf('Suspended');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(ev[at]!.type).toBe('Normal');
    const later = keys.slice(at + 1).filter((k) => k === 'Resumed' || k === 'Coding');
    if (later.length === 0) throw new Error(`no Event after Suspended marks the resume: ${JSON.stringify(keys)}`);
    return later;
  }, { timeoutMs: 5000 });
  expect(after.length).toBeGreaterThan(0);

  await completePod(ns, code.name, { container: 'agent', terminationMessage: JSON.stringify(success(code)) });
  const done = await waitForPhase(ns, task, ['Succeeded', 'Failed']);
  expect(done.status?.phase).toBe('Succeeded');
  expect(done.status?.observedGeneration).toBe(gen3);
});

test('hidden acceptance tests: Running, then Accepting, then Succeeded; only the acceptance Pod mounts them', async () => {
  const task = 'hidden';
  await kube().core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: `${task}-acceptance` }, data: { 'test_hidden.py': 'from fizzbuzz import fizzbuzz\n\ndef test_15():\n    assert fizzbuzz(15) == "FizzBuzz"\n' } },
  });
  scripts.set(task, (s) => ({ result: success(s), delayMs: s.role === 'run' || s.role === 'acceptance' ? 300 : 50 }));
  await createTask(ns, task, { acceptance: true });
  const t = await waitForPhase(ns, task, ['Succeeded', 'Failed']);
  expect(t.status?.phase).toBe('Succeeded');
  expect(t.status?.stages?.map((s) => `${s.role}:${s.state}`)).toEqual(['code:Succeeded', 'test:Succeeded', 'run:Succeeded', 'acceptance:Succeeded']);
  const phases = (await taskEvents(ns, task)).map((e) => e.reason).filter((r) => ['Coding', 'Running', 'Accepting', 'Succeeded'].includes(r ?? ''));
  expect(phases).toEqual(['Coding', 'Running', 'Accepting', 'Succeeded']);
  const podOf = (role: string) => agents!.stagesOf(task).find((s) => s.role === role)!.pod;
  const mounts = (p: k8s.V1Pod) => (p.spec?.volumes ?? []).filter((v) => v.configMap?.name === `${task}-acceptance`);
  expect(mounts(podOf('acceptance'))).toHaveLength(1);
  for (const role of ['code', 'test', 'run']) expect(mounts(podOf(role))).toEqual([]);
});

test('/readyz is 503 until the caches sync, 200 while the operator runs, 503 once stop() begins', async () => {
  // A namespace of its own, so this operator and its Lease touch nothing of the tests above.
  const probe = await TestBed.create('ctl-ready');
  const probeNs = probe.ns;
  const proxy = await FaultProxy.start(kube().config.getCurrentCluster()!.server);
  let c: Controller | undefined;
  try {
    const proxied = proxy.kubeConfig(probe.kc);
    // The apiserver is unreachable: the first lists fail and are retried.
    proxy.down();
    c = new Controller({
      kc: proxied,
      namespace: probeNs,
      identity: 'probe',
      leaderElection: { namespace: probeNs, name: 'autorun-operator', leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 },
      port: 0,
      log: createLogger('operator', process.env.AUTORUN_VERBOSE ? 'debug' : 'error'),
    });
    const started = c.start();
    const port = await eventually(() => c!.port ?? false, { timeoutMs: 5000, intervalMs: 10 });
    const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
    const healthz = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
    // Not ready while it cannot list: checked after its lists were refused twice (it tried, and tried again).
    expect(await readyz()).toBe(503);
    await eventually(() => proxy.refused >= 2, { timeoutMs: 15_000, intervalMs: 20 });
    expect(await readyz()).toBe(503);
    expect(c.hasSynced()).toBe(false);
    expect(await healthz()).toBe(200);

    proxy.up();
    await started;
    expect(c.hasSynced()).toBe(true);
    expect(await readyz()).toBe(200);
    await eventually(() => c!.isLeader(), { timeoutMs: 15_000 });
    expect(await readyz()).toBe(200);

    // Hold stop() in progress: the connections it would release the Lease on carry nothing.
    proxy.freezeOpen();
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    expect(await readyz()).toBe(503);
    expect(stopped).toBe(false);
    proxy.reset();
    await stopping;
    // Stopped: nothing listens any more.
    await expect(readyz()).rejects.toThrow();
  } finally {
    proxy.up();
    await c?.stop();
    await proxy.stop();
    await probe.tearDown();
  }
});
