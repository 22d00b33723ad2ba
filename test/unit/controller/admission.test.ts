import type { V1Pod } from '@kubernetes/client-node';
import type { AgentPool, CodingTask, Phase, Role } from '../../../operator/src/api/types.js';
import { stageName } from '../../../operator/src/core/names.js';
import { computeAdmission, gpuWakeups, poolStatus, taskKey } from '../../../operator/src/controller/admission.js';
import { buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { pool } from './pods/fixtures.js';

const BASE = Date.parse('2025-01-01T00:00:00Z');
const at = (s: number): string => new Date(BASE + s * 1000).toISOString();

function mkTask(name: string, o: { phase?: Phase; created?: number; queuedAt?: number; priority?: number; suspend?: boolean; pool?: string; ns?: string; deleting?: boolean } = {}): CodingTask {
  return {
    apiVersion: 'autorun.dev/v1alpha1',
    kind: 'CodingTask',
    metadata: {
      name,
      namespace: o.ns ?? 'team-a',
      uid: `uid-${name}`,
      creationTimestamp: at(o.created ?? 0),
      ...(o.deleting ? { deletionTimestamp: at(999) } : {}),
    },
    spec: { goal: 'g', pool: o.pool ?? 'default', ...(o.priority !== undefined ? { priority: o.priority } : {}), ...(o.suspend ? { suspend: true } : {}) },
    status: { ...(o.phase ? { phase: o.phase } : {}), ...(o.queuedAt !== undefined ? { queuedAt: at(o.queuedAt) } : {}) },
  };
}

function mkPod(t: CodingTask, p: AgentPool, role: Role, phase = 'Running', iteration = 1): V1Pod {
  const key = { iteration, role, attempt: 0 };
  const pod = buildStagePod({ task: t, pool: p, key, name: stageName(t.metadata.name, key), context: {} });
  pod.status = { phase };
  return pod;
}

const admitted = (a: ReturnType<typeof computeAdmission>): string[] => [...a.byTask].filter(([, v]) => v.admitted).map(([k]) => k.split('/')[1]!).sort();
const positions = (a: ReturnType<typeof computeAdmission>): Record<string, number> =>
  Object.fromEntries([...a.byTask].filter(([, v]) => v.queuePosition !== undefined).map(([k, v]) => [k.split('/')[1]!, v.queuePosition!]));

describe('computeAdmission: slots', () => {
  const p = pool({ maxConcurrentTasks: 2 });

  it('admits first come first served, the rest wait in order', () => {
    const tasks = [mkTask('c', { created: 3 }), mkTask('a', { created: 1 }), mkTask('b', { created: 2 }), mkTask('d', { created: 4 })];
    const a = computeAdmission(p, tasks, []);
    expect(admitted(a)).toEqual(['a', 'b']);
    expect(positions(a)).toEqual({ c: 1, d: 2 });
    expect([a.activeTasks, a.queuedTasks]).toEqual([2, 2]);
  });

  it('orders the queue by queuedAt before creation time', () => {
    const tasks = [mkTask('old', { created: 1, queuedAt: 50, phase: 'Queued' }), mkTask('new', { created: 40, queuedAt: 45, phase: 'Queued' }), mkTask('x', { phase: 'Coding' }), mkTask('y', { phase: 'Running' })];
    expect(positions(computeAdmission(p, tasks, []))).toEqual({ new: 1, old: 2 });
  });

  it('priority first, then FIFO', () => {
    const tasks = [mkTask('early', { created: 1 }), mkTask('urgent', { created: 9, priority: 10 }), mkTask('later', { created: 2 }), mkTask('low', { created: 0, priority: -1 })];
    const a = computeAdmission(p, tasks, []);
    expect(admitted(a)).toEqual(['early', 'urgent']);
    expect(positions(a)).toEqual({ later: 1, low: 2 });
  });

  it('equal times are broken by namespace/name, so the result never depends on input order', () => {
    const tasks = ['e', 'b', 'd', 'a', 'c'].map((n) => mkTask(n, { created: 5 }));
    const a = computeAdmission(p, tasks, []);
    const b = computeAdmission(p, [...tasks].reverse(), []);
    expect(admitted(a)).toEqual(['a', 'b']);
    expect(positions(a)).toEqual(positions(b));
  });

  it('working tasks hold their slots, even above a lowered limit', () => {
    const tasks = [mkTask('w1', { phase: 'Coding', created: 9 }), mkTask('w2', { phase: 'Repairing', created: 9 }), mkTask('w3', { phase: 'Accepting', created: 9 }), mkTask('q', { phase: 'Queued', created: 0 })];
    const a = computeAdmission(p, tasks, []);
    expect(admitted(a)).toEqual(['w1', 'w2', 'w3']);
    expect(positions(a)).toEqual({ q: 1 });
    expect([a.activeTasks, a.queuedTasks]).toEqual([3, 1]);
  });

  it('a task with live Pods holds its slot whatever its phase; finished Pods hold nothing', () => {
    const susp = mkTask('susp', { phase: 'Suspended', suspend: true });
    const done = mkTask('done', { phase: 'Failed' });
    const gone = mkTask('gone', { phase: 'Succeeded' });
    const q1 = mkTask('q1', { created: 1 });
    const q2 = mkTask('q2', { created: 2 });
    const pods = [mkPod(susp, p, 'code'), mkPod(done, p, 'run'), mkPod(gone, p, 'run', 'Succeeded')];
    const a = computeAdmission(p, [susp, done, gone, q1, q2], pods);
    expect(admitted(a)).toEqual(['done', 'susp']);
    expect(positions(a)).toEqual({ q1: 1, q2: 2 });
  });

  it('a task named longer than a label value (its task label is shortened) holds its slot by its live Pods', () => {
    const name = `${'long-'.repeat(20)}name`;
    const susp = mkTask(name, { phase: 'Suspended', suspend: true });
    const q1 = mkTask('q1', { created: 1 });
    const pod = mkPod(susp, p, 'code');
    expect(pod.metadata!.labels!['autorun.dev/task']).not.toBe(name);
    expect(admitted(computeAdmission(p, [susp, q1], [pod]))).toEqual(['q1', name].sort());
    // A Pod without the pool label (made before there was one) is still found through its task.
    delete pod.metadata!.labels!['autorun.dev/pool'];
    expect(admitted(computeAdmission(pool({ maxConcurrentTasks: 1 }), [susp, q1], [pod]))).toEqual([name]);
  });

  it('suspended, finished and deleted tasks neither hold a slot nor wait', () => {
    const tasks = [
      mkTask('s', { phase: 'Suspended', suspend: true }),
      mkTask('s2', { phase: 'Pending', suspend: true }),
      mkTask('ok', { phase: 'Succeeded' }),
      mkTask('ko', { phase: 'Failed' }),
      mkTask('del', { phase: 'Coding', deleting: true }),
      mkTask('a', { created: 1 }),
    ];
    const a = computeAdmission(pool({ maxConcurrentTasks: 1 }), tasks, []);
    expect(admitted(a)).toEqual(['a']);
    expect(positions(a)).toEqual({});
    expect([a.activeTasks, a.queuedTasks]).toEqual([1, 0]);
  });

  it('a task in NeedsInput holds no slot and waits for nothing until a grant changes its spec', () => {
    const asking = { ...mkTask('asking', { phase: 'NeedsInput', created: 0 }) };
    asking.metadata.generation = 1;
    asking.status = { ...asking.status, observedGeneration: 1 };
    const q = mkTask('q', { created: 5 });
    const a = computeAdmission(pool({ maxConcurrentTasks: 1 }), [asking, q], []);
    expect(admitted(a)).toEqual(['q']);
    expect(positions(a)).toEqual({});
    const granted = { ...asking, metadata: { ...asking.metadata, generation: 2 } };
    const b = computeAdmission(pool({ maxConcurrentTasks: 1 }), [granted, q], []);
    expect(admitted(b)).toEqual(['asking']);
    expect(positions(b)).toEqual({ q: 1 });
  });

  it('a resumed task (phase Suspended, suspend false) gets back in line', () => {
    const a = computeAdmission(pool({ maxConcurrentTasks: 1 }), [mkTask('busy', { phase: 'Running' }), mkTask('resumed', { phase: 'Suspended', created: 0 })], []);
    expect(positions(a)).toEqual({ resumed: 1 });
  });

  it('only counts the tasks and Pods of this pool', () => {
    const other = pool({}, { name: 'other' });
    const mine = mkTask('mine', { created: 2 });
    const theirs = mkTask('theirs', { created: 1, pool: 'other', phase: 'Running' });
    const elsewhere = mkTask('elsewhere', { created: 1, ns: 'team-b', phase: 'Running' });
    const a = computeAdmission(pool({ maxConcurrentTasks: 1 }), [mine, theirs, elsewhere], [mkPod(theirs, other, 'run')]);
    expect([...a.byTask.keys()]).toEqual(['team-a/mine']);
    expect(admitted(a)).toEqual(['mine']);
    expect(a.gpusInUse).toBe(0);
  });

  it('without a pool nothing is admitted and nothing queues', () => {
    const a = computeAdmission(undefined, [mkTask('a'), mkTask('b')], []);
    expect(admitted(a)).toEqual([]);
    expect(positions(a)).toEqual({});
    expect(a.gpuAvailable('code', 'team-a/a')).toBe(false);
  });
});

describe('computeAdmission: GPUs', () => {
  it('sums the GPU requests of live Pods, including Pods of deleted tasks and Pods being deleted', () => {
    const p = pool({ gpu: { limit: 4 }, roles: { run: { gpus: 2 } } });
    const t1 = mkTask('t1', { phase: 'Running' });
    const t2 = mkTask('t2', { phase: 'Running' });
    const orphan = mkTask('orphan', { phase: 'Running' });
    const deleting = mkPod(t2, p, 'acceptance');
    deleting.metadata!.deletionTimestamp = new Date(BASE);
    const pods = [mkPod(t1, p, 'run'), mkPod(t1, p, 'code'), mkPod(t1, p, 'run', 'Failed', 0), deleting, mkPod(orphan, p, 'run', 'Succeeded')];
    const a = computeAdmission(p, [t1, t2], pods);
    expect(a.gpusInUse).toBe(4);
    expect(a.gpuAvailable('run', t1)).toBe(false);
    expect(a.gpuAvailable('code', t1)).toBe(true);
  });

  it('answers whether one more stage of a role fits, and never for a task without a slot', () => {
    const p = pool({ maxConcurrentTasks: 1, gpu: { limit: 2 } });
    const t = mkTask('t', { phase: 'Running' });
    const q = mkTask('q', { created: 5 });
    const one = computeAdmission(p, [t, q], [mkPod(t, p, 'run')]);
    expect(one.gpuAvailable('run', t)).toBe(true);
    expect(one.gpuAvailable('acceptance', taskKey(t))).toBe(true);
    expect(one.gpuAvailable('run', q)).toBe(false);
    const two = computeAdmission(p, [t, q], [mkPod(t, p, 'run'), mkPod(t, p, 'acceptance')]);
    expect(two.gpuAvailable('run', t)).toBe(false);
    expect(two.gpuAvailable('repair', t)).toBe(true);
  });

  it('a limit of 0 allows no GPU stage', () => {
    const p = pool({ gpu: { limit: 0 } });
    const t = mkTask('t', { phase: 'Running' });
    expect(computeAdmission(p, [t], []).gpuAvailable('run', t)).toBe(false);
  });

  it('20 tasks on 16 GPUs: 16 run stages fit, the rest wait for a GPU, and slots cap the tasks', () => {
    const p = pool({ maxConcurrentTasks: 16, gpu: { limit: 16 } });
    const tasks = Array.from({ length: 20 }, (_, i) => mkTask(`t${String(i).padStart(2, '0')}`, { created: i }));
    const first = computeAdmission(p, tasks, []);
    expect(first.activeTasks).toBe(16);
    expect(first.queuedTasks).toBe(4);
    expect(positions(first)).toEqual({ t16: 1, t17: 2, t18: 3, t19: 4 });

    // Admitted tasks reach Running and start run stages one by one, each seeing the Pods so far.
    const running = tasks.map((t, i) => (i < 16 ? { ...t, status: { phase: 'Running' as Phase } } : t));
    const pods: V1Pod[] = [];
    for (const t of running.slice(0, 16)) {
      const a = computeAdmission(p, running, pods);
      expect(a.gpuAvailable('run', t)).toBe(true);
      pods.push(mkPod(t, p, 'run'));
    }
    const full = computeAdmission(p, running, pods);
    expect(full.gpusInUse).toBe(16);
    expect(running.slice(0, 16).some((t) => full.gpuAvailable('run', t))).toBe(false);
    expect(full.gpuAvailable('repair', running[0]!)).toBe(true);
    expect(full.queuedTasks).toBe(4);

    // One task succeeds and its Pod ends: the next in line gets its slot and one GPU frees up.
    running[3] = { ...running[3]!, status: { phase: 'Succeeded' } };
    pods[3]!.status = { phase: 'Succeeded' };
    const after = computeAdmission(p, running, pods);
    expect(after.gpusInUse).toBe(15);
    expect(after.byTask.get('team-a/t16')).toEqual({ admitted: true });
    expect(positions(after)).toEqual({ t17: 1, t18: 2, t19: 3 });
    expect(after.gpuAvailable('run', running[16]!)).toBe(true);
  });
});

describe('computeAdmission: 10,000 tasks', () => {
  it('admits exactly the best-ranked waiting tasks and numbers the rest in rank order', () => {
    // A deterministic mix: working tasks, queued and pending ones with ties in time and priority.
    let seed = 42;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const phases: Phase[] = ['Pending', 'Queued', 'Coding', 'Running', 'Succeeded', 'Failed', 'Suspended'];
    const tasks = Array.from({ length: 10_000 }, (_, i) => {
      const phase = phases[rnd(phases.length)]!;
      return mkTask(`task-${i}`, { phase, created: rnd(5000), queuedAt: phase === 'Queued' ? 5000 + rnd(1000) : undefined, priority: rnd(3), suspend: phase === 'Suspended' && rnd(2) === 0 });
    });
    const p = pool({ maxConcurrentTasks: 3000 });
    const a = computeAdmission(p, tasks, []);

    const holders = tasks.filter((t) => ['Coding', 'Running'].includes(t.status!.phase!));
    const waiting = tasks.filter((t) => ['Pending', 'Queued'].includes(t.status!.phase!) || (t.status!.phase === 'Suspended' && !t.spec.suspend));
    const free = 3000 - holders.length;
    expect(a.activeTasks).toBe(3000);
    expect(a.queuedTasks).toBe(waiting.length - free);
    for (const t of holders) expect(a.byTask.get(taskKey(t))).toEqual({ admitted: true });

    // Rank order rebuilt from the queue positions, with the admitted ones first.
    const rank = (t: CodingTask): [number, number, number, string] => [-(t.spec.priority ?? 0), Date.parse(t.status!.queuedAt ?? t.metadata.creationTimestamp!), Date.parse(t.metadata.creationTimestamp!), taskKey(t)];
    const before = (x: CodingTask, y: CodingTask): boolean => {
      const [a1, a2, a3, a4] = rank(x);
      const [b1, b2, b3, b4] = rank(y);
      return a1 !== b1 ? a1 < b1 : a2 !== b2 ? a2 < b2 : a3 !== b3 ? a3 < b3 : a4 < b4;
    };
    const newly = waiting.filter((t) => a.byTask.get(taskKey(t))!.admitted);
    const queued = waiting.filter((t) => !a.byTask.get(taskKey(t))!.admitted).sort((x, y) => a.byTask.get(taskKey(x))!.queuePosition! - a.byTask.get(taskKey(y))!.queuePosition!);
    expect(newly).toHaveLength(free);
    expect(queued.map((t) => a.byTask.get(taskKey(t))!.queuePosition)).toEqual(queued.map((_, i) => i + 1));
    for (let i = 1; i < queued.length; i++) expect(before(queued[i - 1]!, queued[i]!)).toBe(true);
    const worstAdmitted = newly.reduce((w, t) => (before(w, t) ? t : w));
    expect(before(worstAdmitted, queued[0]!)).toBe(true);
    for (const t of tasks.filter((t) => ['Succeeded', 'Failed'].includes(t.status!.phase!) || t.spec.suspend)) expect(a.byTask.get(taskKey(t))).toEqual({ admitted: false });
  });
});

describe('poolStatus', () => {
  const now = new Date('2025-01-01T12:00:00Z');

  it('reports load and Ready with the generation', () => {
    const p = pool();
    const a = computeAdmission(p, [mkTask('a', { phase: 'Running' }), mkTask('b')], [mkPod(mkTask('a'), p, 'run')]);
    expect(poolStatus(p, a, now)).toEqual({
      observedGeneration: 3,
      activeTasks: 2,
      queuedTasks: 0,
      gpusInUse: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'The pool accepts tasks', lastTransitionTime: now.toISOString(), observedGeneration: 3 }],
    });
  });

  it('is not Ready when a role needs more GPUs than the limit allows (the CRD default limit is 0)', () => {
    const p = pool({ gpu: { limit: 0 } });
    const c = poolStatus(p, computeAdmission(p, [], []), now).conditions![0]!;
    expect(c).toMatchObject({ type: 'Ready', status: 'False', reason: 'GPULimitTooLow' });
    expect(c.message).toMatch(/run needs 1/);
  });

  it('keeps lastTransitionTime while the condition status stays the same, so nothing changes', () => {
    const p = pool();
    const first = poolStatus(p, computeAdmission(p, [], []), now);
    const again = poolStatus({ ...p, status: first }, computeAdmission(p, [], []), new Date(now.getTime() + 60_000));
    expect(again).toEqual(first);
    const broken = pool({ gpu: { limit: 0 } });
    const changed = poolStatus({ ...broken, status: first }, computeAdmission(broken, [], []), new Date(now.getTime() + 60_000));
    expect(changed.conditions![0]!.lastTransitionTime).toBe(new Date(now.getTime() + 60_000).toISOString());
  });
});

describe('claimGpus', () => {
  test('each stage a reconcile starts holds its GPUs for the rest of the snapshot', () => {
    const p = pool({ maxConcurrentTasks: 4, gpu: { limit: 1 } });
    const t = mkTask('a', { phase: 'Running' });
    const a = computeAdmission(p, [t], []);
    expect(a.claimGpus('run', t)).toBe(true);
    // The pool's only GPU is now claimed: a second GPU stage in the same snapshot must wait,
    // while stages without GPUs still start.
    expect(a.claimGpus('acceptance', t)).toBe(false);
    expect(a.gpuAvailable('run', t)).toBe(false);
    expect(a.claimGpus('repair', t)).toBe(true);
    expect(a.gpusInUse).toBe(0);
  });
});

describe('gpuWakeups: a freed GPU wakes only the waiters it can serve', () => {
  const waiters = (n: number, gpus = 1) => Array.from({ length: n }, (_, i) => ({ task: mkTask(`w${i}`, { phase: 'Running', created: i }), gpus }));
  const names = (keys: string[]) => keys.map((k) => k.split('/')[1]);

  it('one freed GPU and 50 waiters: exactly one is woken, the first in line', () => {
    expect(names(gpuWakeups(waiters(50), 1))).toEqual(['w0']);
  });

  it('three free GPUs wake three, in queue order whatever the input order', () => {
    expect(names(gpuWakeups(waiters(10).reverse(), 3))).toEqual(['w0', 'w1', 'w2']);
  });

  it('no free GPU (all taken, or promised to waiters woken before) wakes nobody', () => {
    expect(gpuWakeups(waiters(10), 0)).toEqual([]);
    expect(gpuWakeups(waiters(10), -2)).toEqual([]);
  });

  it('priority first, then first come first served by queuedAt, as for slots', () => {
    const ws = [
      { task: mkTask('early', { phase: 'Running', created: 1 }), gpus: 1 },
      { task: mkTask('urgent', { phase: 'Running', created: 9, priority: 5 }), gpus: 1 },
      { task: mkTask('requeued', { phase: 'Running', created: 0, queuedAt: 20 }), gpus: 1 },
    ];
    expect(names(gpuWakeups(ws, 2))).toEqual(['urgent', 'early']);
    expect(names(gpuWakeups(ws, 3))).toEqual(['urgent', 'early', 'requeued']);
  });

  it('a waiter needing more GPUs than are free is passed over for one that fits, and woken once enough are free', () => {
    const ws = [
      { task: mkTask('big', { phase: 'Running', created: 0 }), gpus: 4 },
      { task: mkTask('small', { phase: 'Running', created: 1 }), gpus: 1 },
      { task: mkTask('small2', { phase: 'Running', created: 2 }), gpus: 1 },
    ];
    expect(names(gpuWakeups(ws, 1))).toEqual(['small']);
    expect(names(gpuWakeups(ws, 4))).toEqual(['big']);
    expect(names(gpuWakeups(ws, 5))).toEqual(['big', 'small']);
  });

  it('waiters refused no GPUs are not GPU waiters', () => {
    expect(gpuWakeups([{ task: mkTask('x', { phase: 'Running' }), gpus: 0 }], 3)).toEqual([]);
  });
});
