// The gates in front of every new stage: suspend, the pool (missing, full), GPUs and the scheduler.
import { decide } from '../../../operator/src/core/loop.js';
import type { LoopOutput, ObservedStage } from '../../../operator/src/core/types.js';
import { checkIdempotent, input, ok, pool, ran, spec, world, type World } from './driver.js';

const at = (minutes: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + minutes * 60_000);
const starts = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'StartStage' ? [a.name] : []));
const events = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'Event' ? [a.reason] : []));
const cond = (o: LoopOutput, type: string) => o.status.conditions?.find((c) => c.type === type);

/** Calls decide(), checks idempotence, and makes the output the world's status. */
function step(w: World): LoopOutput {
  const i = input(w);
  const out = decide(i);
  checkIdempotent(i, out);
  w.status = out.status;
  return out;
}

const finished = (name: string, iteration: number, role: ObservedStage['role'], result: ObservedStage['result'], minute: number): ObservedStage => ({
  name: `fizzbuzz-${name}`,
  iteration,
  role,
  attempt: 0,
  state: 'Finished',
  result,
  startTime: at(minute - 1).toISOString(),
  finishTime: at(minute).toISOString(),
});

describe('pool gate', () => {
  test('a missing pool keeps the task Pending with PoolMissing; it starts when the pool appears', () => {
    const w = world({ spec: spec({ pool: 'gpu-team' }), pool: pool({ exists: false }) });
    const o1 = step(w);
    expect(o1.status.phase).toBe('Pending');
    expect(o1.status.reason).toBe('PoolMissing');
    expect(cond(o1, 'PoolReady')).toMatchObject({ status: 'False', reason: 'PoolMissing', message: expect.stringContaining('"gpu-team"') });
    expect(cond(o1, 'Progressing')).toMatchObject({ status: 'False', reason: 'PoolMissing' });
    expect(starts(o1)).toEqual([]);
    expect(events(o1)).toEqual(['Pending']);

    w.pool = pool();
    w.now = at(5);
    const o2 = step(w);
    expect(o2.status.phase).toBe('Coding');
    expect(starts(o2)).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0']);
    expect(cond(o2, 'PoolReady')).toMatchObject({ status: 'True', reason: 'Admitted', lastTransitionTime: at(5).toISOString() });
    expect(o2.status.startTime).toBe(at(5).toISOString());
  });

  test('a full pool queues the task FIFO: queuedAt is set once, the message has the position', () => {
    const w = world({ pool: pool({ admitted: false, queuePosition: 3 }) });
    const o1 = step(w);
    expect(o1.status.phase).toBe('Queued');
    expect(o1.status.queuedAt).toBe(at(0).toISOString());
    expect(o1.status.message).toContain('position 3');
    expect(cond(o1, 'PoolReady')).toMatchObject({ status: 'False', reason: 'Queued', message: expect.stringContaining('position 3') });
    expect(starts(o1)).toEqual([]);

    w.pool = pool({ admitted: false, queuePosition: 1 });
    w.now = at(2);
    const o2 = step(w);
    expect(o2.status.queuedAt).toBe(at(0).toISOString());
    expect(o2.status.message).toContain('position 1');
    expect(events(o2)).toEqual([]);

    w.pool = pool();
    w.now = at(3);
    const o3 = step(w);
    expect(o3.status.phase).toBe('Coding');
    expect(o3.status.queuedAt).toBe(at(0).toISOString());
    expect(starts(o3)).toHaveLength(2);
  });
});

describe('suspend', () => {
  test('a suspended task needs no pool slot and starts nothing', () => {
    const w = world({ spec: spec({ suspend: true }), pool: pool({ admitted: false, queuePosition: 2 }) });
    const o = step(w);
    expect(o.status.phase).toBe('Suspended');
    expect(o.status.queuedAt).toBeUndefined();
    expect(cond(o, 'Progressing')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(cond(o, 'PoolReady')).toBeUndefined();
    expect(starts(o)).toEqual([]);
  });

  test('running stages finish and are recorded; resume continues where it left off', () => {
    const w = world();
    step(w);
    w.spec = spec({ suspend: true });
    w.now = at(1);
    w.observed = [finished('i1-code-a0', 1, 'code', ok('code', 'c1'), 1), { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Running' }];
    const o1 = step(w);
    expect(o1.status.phase).toBe('Suspended');
    expect(o1.status.message).toContain('1 running stage(s) finish first');
    expect(o1.status.stages?.map((s) => s.state)).toEqual(['Succeeded', 'Running']);
    expect(o1.actions.some((a) => a.type === 'StopStage')).toBe(false);

    w.now = at(2);
    w.observed = [w.observed[0] as ObservedStage, finished('i1-test-a0', 1, 'test', ok('test', 't1'), 2)];
    const o2 = step(w);
    expect(o2.status.phase).toBe('Suspended');
    expect(o2.status.stages?.map((s) => s.state)).toEqual(['Succeeded', 'Succeeded']);
    expect(starts(o2)).toEqual([]);

    w.spec = spec({ suspend: false });
    w.now = at(30);
    const o3 = step(w);
    expect(o3.status.phase).toBe('Running');
    expect(o3.actions).toContainEqual({ type: 'StartStage', name: 'fizzbuzz-i1-run-a0', stage: { iteration: 1, role: 'run', attempt: 0 }, context: { codeRef: 'c1', testsRef: 't1' } });
    expect(cond(o3, 'Progressing')).toMatchObject({ status: 'True', lastTransitionTime: at(30).toISOString() });
  });

  test('a stage that finishes while suspended can still end the task', () => {
    const w = world({ spec: spec({ suspend: true }) });
    w.status = {
      phase: 'Suspended',
      stages: [
        { name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Succeeded', commit: 'c1' },
        { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Succeeded', commit: 't1' },
        { name: 'fizzbuzz-i1-run-a0', iteration: 1, role: 'run', attempt: 0, state: 'Running' },
      ],
    };
    w.observed = [finished('i1-run-a0', 1, 'run', ran(10, 10), 3)];
    const o = step(w);
    expect(o.status.phase).toBe('Succeeded');
  });
});

describe('GPU gate and scheduling', () => {
  function coded(): World {
    const w = world();
    step(w);
    w.now = at(1);
    w.observed = [finished('i1-code-a0', 1, 'code', ok('code', 'c1'), 1), finished('i1-test-a0', 1, 'test', ok('test', 't1'), 1)];
    return w;
  }

  test('a stage that needs a GPU waits for one: condition, no action', () => {
    const w = coded();
    w.pool = pool({ gpuAvailable: (role) => role !== 'run' });
    const o1 = step(w);
    expect(starts(o1)).toEqual([]);
    expect(o1.status.phase).toBe('Running');
    expect(o1.status.reason).toBe('WaitingForGPU');
    expect(cond(o1, 'Schedulable')).toMatchObject({ status: 'False', reason: 'WaitingForGPU' });
    expect(events(o1)).toContain('WaitingForGPU');

    w.pool = pool();
    w.now = at(2);
    const o2 = step(w);
    expect(starts(o2)).toEqual(['fizzbuzz-i1-run-a0']);
    expect(o2.status.reason).toBeUndefined();
    expect(cond(o2, 'Schedulable')).toMatchObject({ status: 'True', reason: 'Scheduled', lastTransitionTime: at(2).toISOString() });
  });

  test('an unschedulable stage sets Schedulable False with the scheduler message, cleared when it runs', () => {
    const w = coded();
    step(w);
    const run: ObservedStage = { name: 'fizzbuzz-i1-run-a0', iteration: 1, role: 'run', attempt: 0, state: 'Pending', unschedulable: true, unschedulableMessage: '0/16 nodes are available: 16 Insufficient nvidia.com/gpu.' };
    w.observed = [...w.observed, run];
    w.now = at(2);
    const o1 = step(w);
    expect(cond(o1, 'Schedulable')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: expect.stringContaining('Insufficient nvidia.com/gpu') });
    expect(o1.status.reason).toBe('Unschedulable');
    expect(events(o1)).toEqual(['Unschedulable']);
    expect(o1.status.stages?.find((s) => s.role === 'run')).toMatchObject({ state: 'Pending', reason: 'Unschedulable' });

    w.now = at(3);
    const o2 = step(w);
    expect(events(o2)).toEqual([]);
    expect(cond(o2, 'Schedulable')?.lastTransitionTime).toBe(at(2).toISOString());

    w.observed = [...w.observed.slice(0, 2), { ...run, state: 'Running', unschedulable: false }];
    w.now = at(4);
    const o3 = step(w);
    expect(cond(o3, 'Schedulable')).toMatchObject({ status: 'True', reason: 'Scheduled', lastTransitionTime: at(4).toISOString() });
    expect(o3.status.stages?.find((s) => s.role === 'run')).toEqual(expect.not.objectContaining({ reason: expect.anything() }));
  });
});
