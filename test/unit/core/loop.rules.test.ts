// Focused rules of decide(): stages never start twice, repeated calls are no-ops, terminal states
// are sticky, limits are checked on every call, conditions move only on flips.
import { decide } from '../../../operator/src/core/loop.js';
import type { LoopOutput, ObservedStage } from '../../../operator/src/core/types.js';
import type { CodingTaskStatus, StageStatus } from '../../../operator/src/api/types.js';
import { checkIdempotent, input, ok, ran, simulate, spec, world, type World } from './driver.js';

const at = (minutes: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + minutes * 60_000);
const starts = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'StartStage' ? [a.name] : []));
const events = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'Event' ? [a.reason] : []));
const requeue = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'RequeueAt' ? [a.at] : []));

const rec = (role: StageStatus['role'], iteration: number, extra: Partial<StageStatus> = {}): StageStatus => ({
  name: `fizzbuzz-i${iteration}-${role}-a${extra.attempt ?? 0}`,
  iteration,
  role,
  attempt: 0,
  state: 'Succeeded',
  startTime: at(0).toISOString(),
  completionTime: at(1).toISOString(),
  ...extra,
});

function step(w: World): LoopOutput {
  const i = input(w);
  const out = decide(i);
  checkIdempotent(i, out);
  w.status = out.status;
  return out;
}

describe('stages start once', () => {
  test('a finished record is never started again, even when its Pod is gone', () => {
    const w = world({ now: at(2), status: { phase: 'Coding', stages: [rec('code', 1, { commit: 'c1' }), rec('test', 1, { commit: 't1' })] } });
    const o = step(w);
    expect(starts(o)).toEqual(['fizzbuzz-i1-run-a0']);
  });

  test('a recorded stage not observed yet is re-created under the same name, without a new event or record', () => {
    const w = world();
    const o1 = step(w);
    expect(starts(o1)).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0']);
    expect(events(o1).filter((e) => e === 'StageStarted')).toHaveLength(2);
    w.now = at(1);
    const o2 = step(w);
    expect(starts(o2)).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0']);
    expect(events(o2)).toEqual([]);
    expect(o2.status.stages).toEqual(o1.status.stages);
  });

  test('an observed live stage is not started again', () => {
    const w = world();
    step(w);
    w.observed = [
      { name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Running' },
      { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Pending' },
    ];
    const o = step(w);
    expect(starts(o)).toEqual([]);
    expect(o.status.stages?.map((s) => s.state)).toEqual(['Running', 'Pending']);
  });

  test('a finished record is not rewritten by a later observation', () => {
    const first = rec('code', 1, { commit: 'c1', summary: 'first' });
    const w = world({ status: { phase: 'Coding', stages: [first, rec('test', 1)] } });
    w.observed = [{ name: first.name, iteration: 1, role: 'code', attempt: 0, state: 'Finished', result: ok('code', 'other') }];
    const o = step(w);
    expect(o.status.stages?.[0]).toEqual(first);
  });

  test('a stage recorded but not observed is started again under the same name (a create not seen yet; the shells tell a lost Pod apart)', () => {
    const w = world({ status: { phase: 'Coding', stages: [rec('code', 1, { state: 'Pending' }), rec('test', 1, { state: 'Running' })] } });
    w.observed = [{ name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Running', startTime: at(0).toISOString() }];
    expect(starts(step(w))).toEqual(['fizzbuzz-i1-code-a0']);
  });

  test('stages observed but never recorded (a lost status write) are adopted, oldest first', () => {
    const w = world();
    w.observed = [
      { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Running', startTime: at(0).toISOString() },
      { name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Running', startTime: at(0).toISOString() },
    ];
    const o = step(w);
    expect(starts(o)).toEqual([]);
    expect(o.status.stages?.map((s) => s.name)).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0']);
  });
});

describe('terminal states', () => {
  test('are sticky: later calls record, stop what is live and emit nothing', () => {
    const status: CodingTaskStatus = { phase: 'Failed', reason: 'CostLimit', stages: [rec('code', 1), rec('test', 1)] };
    const live: ObservedStage = { name: 'fizzbuzz-i1-run-a0', iteration: 1, role: 'run', attempt: 0, state: 'Running' };
    const w = world({ status, observed: [live], now: at(10) });
    const o = step(w);
    expect(o.status.phase).toBe('Failed');
    expect(o.actions.filter((a) => a.type !== 'Event')).toEqual([{ type: 'StopStage', name: 'fizzbuzz-i1-run-a0' }]);
  });

  test('a timeout at the deadline stops live stages; while running a RequeueAt points at it', () => {
    const w = world({ spec: spec({ limits: { timeout: '90m' } }) });
    const o1 = step(w);
    expect(requeue(o1)).toEqual([at(90).toISOString()]);
    w.observed = [{ name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Running' }];
    w.now = at(90);
    const o2 = step(w);
    expect(o2.status).toMatchObject({ phase: 'Failed', reason: 'Timeout', completionTime: at(90).toISOString() });
    expect(o2.actions.filter((a) => a.type === 'StopStage')).toEqual([
      { type: 'StopStage', name: 'fizzbuzz-i1-code-a0' },
      { type: 'StopStage', name: 'fizzbuzz-i1-test-a0' },
    ]);
    expect(o2.actions).toContainEqual({ type: 'Event', kind: 'Warning', reason: 'Timeout', message: expect.stringContaining('90m') });
    expect(o2.status.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'Timeout' });
    expect(o2.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Timeout' });
  });

  test('the cost cap is checked before a new stage starts', () => {
    const stages = [rec('code', 1, { commit: 'c1', costUSD: '3.000000' }), rec('test', 1, { commit: 't1', costUSD: '2.000000' })];
    const o = step(world({ status: { phase: 'Coding', stages }, now: at(2) }));
    expect(starts(o)).toEqual([]);
    expect(o.status).toMatchObject({ phase: 'Failed', reason: 'CostLimit', cost: { llmUSD: '5.0000', totalUSD: '5.0000', summary: '$5.00' } });
  });

  test('success on the last stage wins over the cost cap it pushed past', () => {
    const stages = [rec('code', 1, { commit: 'c1', costUSD: '4.990000' }), rec('test', 1, { commit: 't1' })];
    const w = world({ status: { phase: 'Running', stages }, now: at(3) });
    w.observed = [{ name: 'fizzbuzz-i1-run-a0', iteration: 1, role: 'run', attempt: 0, state: 'Finished', result: ran(10, 10), gpuSeconds: 60, finishTime: at(3).toISOString() }];
    const o = step(w);
    expect(o.status).toMatchObject({ phase: 'Succeeded', result: { branch: 'autorun/fizzbuzz', commit: 'tested' } });
  });

  test('the result branch follows spec.repository.branch', () => {
    const t = simulate(world({ spec: spec({ repository: { url: 'https://git.example/x.git', branch: 'feature/fizz' } }) }), {
      code: [ok('code', 'c1')],
      test: [ok('test', 't1')],
      run: [ran(3, 3)],
    });
    expect(t.status.result?.branch).toBe('feature/fizz');
  });
});

describe('status bookkeeping', () => {
  test('conditions keep lastTransitionTime until their status flips', () => {
    const t = simulate(world(), { code: [ok('code', 'c1')], test: [ok('test', 't1')], run: [ran(9, 10, ['a']), ran(10, 10)], repair: [ok('repair', 'r1')] });
    const c = (type: string) => t.status.conditions?.find((x) => x.type === type);
    // Progressing went True at the start and False at the end; Ready flipped only at the end.
    expect(c('Progressing')).toMatchObject({ status: 'False', reason: 'TestsPassed', lastTransitionTime: t.status.completionTime });
    expect(c('Ready')).toMatchObject({ status: 'True', lastTransitionTime: t.status.completionTime });
    expect(c('PoolReady')).toMatchObject({ status: 'True', lastTransitionTime: at(0).toISOString() });
    expect(c('Succeeded')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(c('Failed')).toBeUndefined();
    expect(t.status.observedGeneration).toBe(1);
  });

  test('one event per transition: every stage start and end, every phase change', () => {
    const t = simulate(world(), { code: [ok('code', 'c1')], test: [ok('test', 't1')], run: [ran(9, 10, ['a']), ran(10, 10)], repair: [ok('repair', 'r1')] });
    const count = (r: string) => t.events.filter((e) => e.reason === r).length;
    expect(count('StageStarted')).toBe(t.started.length);
    expect(count('StageSucceeded') + count('StageFailed')).toBe(t.started.length);
    expect(t.events.filter((e) => ['Coding', 'Running', 'Repairing', 'Succeeded'].includes(e.reason)).map((e) => e.reason)).toEqual(['Coding', 'Running', 'Repairing', 'Running', 'Succeeded']);
  });

  test('a failed attempt waits for its backoff with a RequeueAt, then retries under a new name', () => {
    const stages = [
      rec('code', 1, { commit: 'c1' }),
      rec('test', 1, { commit: 't1' }),
      rec('run', 1, { state: 'Error', reason: 'Evicted', completionTime: at(5).toISOString() }),
    ];
    const w = world({ status: { phase: 'Running', stages }, now: at(5) });
    const o1 = step(w);
    expect(starts(o1)).toEqual([]);
    expect(requeue(o1)).toEqual([new Date(at(5).getTime() + 10_000).toISOString()]);
    expect(o1.status).toMatchObject({ phase: 'Running', reason: 'RetryBackoff' });
    w.now = new Date(at(5).getTime() + 10_000);
    const o2 = step(w);
    expect(starts(o2)).toEqual(['fizzbuzz-i1-run-a1']);
  });

  test('the tests and cost summaries are printable while the loop runs', () => {
    const t = simulate(world(), { code: [ok('code', 'c1')], test: [ok('test', 't1')], run: [ran(8, 10, ['a', 'b']), ran(10, 10)], repair: [ok('repair', 'r1')] }, { maxCalls: 3 });
    expect(t.status.phase).toBe('Repairing');
    expect(t.status.iteration).toBe(2);
    expect(t.status.tests).toEqual({ passed: 8, failed: 2, total: 10, failing: ['a', 'b'], summary: '8/10' });
    expect(t.status.cost?.summary).toMatch(/^\$\d+\.\d\d$/);
    expect(t.status.message).toBe('iteration 2: repairing 2 failing tests');
  });
});

describe('a stopped stage still reports what it spent', () => {
  const stoppedResult = (costUSD: number) => ({ role: 'test' as const, outcome: 'Error' as const, reason: 'Stopped', summary: 'stopped by SIGTERM', usage: { inputTokens: 10, outputTokens: 5, costUSD } });

  test('the cap ends the task and stops the test stage; its spend, reported on the way out, joins status.cost', () => {
    const w = world({ spec: spec({ limits: { maxIterations: 5, maxCostUSD: '1', timeout: '2h' } }), pool: { ...world().pool, gpuHourUSD: 0 } });
    const code = { ...ok('code', 'c1'), usage: { inputTokens: 1, outputTokens: 1, costUSD: 1.2 } };
    w.observed = [
      { name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Finished', result: code, finishTime: at(1).toISOString() },
      { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Running' },
    ];
    w.status = { stages: [rec('code', 1, { state: 'Running' }), rec('test', 1, { state: 'Running' })] };
    const ended = step(w);
    expect(ended.status).toMatchObject({ phase: 'Failed', reason: 'CostLimit', cost: { llmUSD: '1.2000' } });
    expect(ended.actions).toContainEqual({ type: 'StopStage', name: 'fizzbuzz-i1-test-a0' });
    // The agent, SIGTERMed, writes what it spent before it exits; the Pod/process is then seen finished.
    w.observed = [w.observed[0]!, { ...w.observed[1]!, state: 'Finished', result: stoppedResult(0.35) }];
    w.now = at(2);
    const after = step(w);
    expect(after.status).toMatchObject({ phase: 'Failed', reason: 'CostLimit', cost: { llmUSD: '1.5500' } });
    expect(after.status.stages?.find((s) => s.role === 'test')).toMatchObject({ state: 'Error', reason: 'Stopped', costUSD: '0.350000' });
  });

  test('a Stopped result of a task still running is an interruption: retried, not StageError, its money counted', () => {
    const w = world();
    w.observed = [
      { name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Finished', result: { ...stoppedResult(0.2), role: 'code' }, finishTime: at(1).toISOString() },
      { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Running' },
    ];
    w.status = { stages: [rec('code', 1, { state: 'Running' }), rec('test', 1, { state: 'Running' })] };
    const out = step(w);
    expect(out.status.phase).toBe('Coding');
    expect(out.status.reason).not.toBe('StageError');
    // The loop wakes for the code stage's retry, 10 s after it stopped.
    expect(requeue(out)).toEqual([new Date(at(1).getTime() + 10_000).toISOString()]);
    expect(out.status.cost?.llmUSD).toBe('0.2000');
  });
});
