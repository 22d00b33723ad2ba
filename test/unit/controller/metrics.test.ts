import type { AgentPool, CodingTaskStatus, StageStatus } from '../../../operator/src/api/types.js';
import { ControllerMetrics, NO_RESPONSE } from '../../../operator/src/controller/metrics.js';
import { statusDelta } from '../../../operator/src/controller/task-metrics.js';

const stage = (role: StageStatus['role'], iteration: number, attempt: number, s: Partial<StageStatus> = {}): StageStatus => ({
  name: `t-i${iteration}-${role}-a${attempt}`,
  role,
  iteration,
  attempt,
  ...s,
});

const T0 = '2026-01-01T00:00:00Z';
const at = (sec: number): string => new Date(Date.parse(T0) + sec * 1000).toISOString();

/** One value of a series, by its labels, from the registry's own JSON. */
async function value(m: ControllerMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  // A histogram's _sum and _count are values of the histogram itself, told apart by metricName.
  const base = name.replace(/_(sum|count)$/, '');
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name || (String(x.type) === 'histogram' && x.name === base));
  const v = metric?.values.find(
    (x) => ((x as { metricName?: string }).metricName ?? metric.name) === name && Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want),
  );
  return v?.value;
}

describe('statusDelta', () => {
  const running: CodingTaskStatus = {
    phase: 'Running',
    iteration: 1,
    startTime: at(30),
    queuedAt: at(10),
    stages: [stage('code', 1, 0, { state: 'Succeeded', startTime: at(30), completionTime: at(90), costUSD: '0.2500' }), stage('run', 1, 0, { state: 'Running', startTime: at(91) })],
  };

  it('counts a stage once, when its result is first written', () => {
    const after: CodingTaskStatus = {
      ...running,
      stages: [running.stages![0]!, stage('run', 1, 0, { state: 'Failed', reason: 'TestsFailed', startTime: at(91), completionTime: at(101), gpuSeconds: 10 })],
    };
    const d = statusDelta(running, after, T0);
    expect(d.stagesFinished).toEqual([{ role: 'run', state: 'Failed', reason: 'TestsFailed', seconds: 10, costUSD: 0, gpuSeconds: 10 }]);
    // Written again unchanged (a later write of the same task): nothing new.
    expect(statusDelta(after, after, T0).stagesFinished).toEqual([]);
    expect(d.queueWaitSeconds).toBeUndefined();
    expect(d.finished).toBeUndefined();
  });

  it('a second attempt is a retry, labelled with why the first one ended', () => {
    const before: CodingTaskStatus = { ...running, stages: [...running.stages!.slice(0, 1), stage('run', 1, 0, { state: 'Error', reason: 'OOMKilled' })] };
    const after: CodingTaskStatus = { ...before, stages: [...before.stages!, stage('run', 1, 1, { state: 'Pending' })] };
    expect(statusDelta(before, after, T0).stagesRetried).toEqual([{ role: 'run', reason: 'OOMKilled' }]);
  });

  it('the queue wait runs from queuedAt (or creation) to the first stage', () => {
    expect(statusDelta({ phase: 'Queued', queuedAt: at(10) }, running, T0).queueWaitSeconds).toBe(20);
    expect(statusDelta({}, { ...running, queuedAt: undefined }, T0).queueWaitSeconds).toBe(30);
  });

  it('a finished task gives phase, reason, iterations and total cost, once', () => {
    const done: CodingTaskStatus = { ...running, phase: 'Succeeded', reason: 'TestsPassed', iteration: 3, cost: { totalUSD: '1.2500' } };
    expect(statusDelta(running, done, T0).finished).toEqual({ phase: 'Succeeded', reason: 'TestsPassed', iterations: 3, costUSD: 1.25 });
    expect(statusDelta(done, done, T0).finished).toBeUndefined();
  });
});

describe('ControllerMetrics', () => {
  it('labels API writes with the HTTP status, and <error> when no response came', async () => {
    const m = new ControllerMetrics();
    m.write('create', 'pods', 201, 'ns/t');
    m.write('create', 'pods', 409, 'ns/t');
    m.write('update', 'leases', undefined);
    expect(await value(m, 'autorun_api_writes_total', { verb: 'create', code: '201' })).toBe(1);
    expect(await value(m, 'autorun_api_writes_total', { verb: 'create', code: '409' })).toBe(1);
    expect(await value(m, 'autorun_api_writes_total', { verb: 'update', code: NO_RESPONSE })).toBe(1);
    expect(m.tally('ns/t').writes).toBe(2);
  });

  it('informer restarts are a counter that adds only what is new', async () => {
    const m = new ControllerMetrics();
    expect(await value(m, 'autorun_informer_restarts_total', { informer: 'pods', kind: 'error' })).toBe(0);
    m.informerCounts('pods', 2, 0);
    m.informerCounts('pods', 2, 1);
    m.informerCounts('pods', 5, 1);
    expect(await value(m, 'autorun_informer_restarts_total', { informer: 'pods', kind: 'error' })).toBe(5);
    expect(await value(m, 'autorun_informer_restarts_total', { informer: 'pods', kind: 'relist' })).toBe(1);
  });

  it('process metrics carry the standard names, without a prefix', async () => {
    const names = (await new ControllerMetrics({ processMetrics: true }).registry.getMetricsAsJSON()).map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']));
    expect(names.filter((n) => n.startsWith('autorun_operator_'))).toEqual([]);
    // prom-client's gauges named like counters are left out; their by-type breakdown stays.
    expect(names).toEqual(expect.arrayContaining(['nodejs_active_handles']));
    expect(names.filter((n) => /^nodejs_active_\w+_total$/.test(n))).toEqual([]);
  });

  it('a status write feeds the task and stage series by pool', async () => {
    const m = new ControllerMetrics();
    const before: CodingTaskStatus = { phase: 'Running', iteration: 2, startTime: at(5), stages: [stage('run', 2, 0, { state: 'Running', startTime: at(100) })] };
    const after: CodingTaskStatus = {
      ...before,
      phase: 'Succeeded',
      reason: 'TestsPassed',
      cost: { totalUSD: '0.6000' },
      stages: [stage('run', 2, 0, { state: 'Succeeded', startTime: at(100), completionTime: at(160), gpuSeconds: 60, costUSD: '0' })],
    };
    m.statusWritten('team-a', 'l4', T0, before, after);
    const p = { namespace: 'team-a', pool: 'l4' };
    expect(await value(m, 'autorun_tasks_finished_total', { ...p, phase: 'Succeeded', reason: 'TestsPassed' })).toBe(1);
    expect(await value(m, 'autorun_task_iterations_sum', p)).toBe(2);
    expect(await value(m, 'autorun_task_cost_usd_sum', { ...p, phase: 'Succeeded' })).toBeCloseTo(0.6);
    expect(await value(m, 'autorun_gpu_seconds_total', { ...p, role: 'run' })).toBe(60);
    expect(await value(m, 'autorun_stage_duration_seconds_sum', { ...p, role: 'run', state: 'Succeeded' })).toBe(60);
    expect(await value(m, 'autorun_stages_finished_total', { ...p, role: 'run', state: 'Succeeded', reason: 'Succeeded' })).toBe(1);
  });

  it('pool gauges follow the pools, and a deleted pool disappears', async () => {
    const m = new ControllerMetrics();
    const pool = (name: string, limit?: number): AgentPool =>
      ({ metadata: { name, namespace: 'ns' }, spec: limit === undefined ? {} : { gpu: { limit } }, status: { gpusInUse: 3, activeTasks: 2, queuedTasks: 7 } }) as unknown as AgentPool;
    m.pools([pool('a', 4), pool('b')]);
    expect(await value(m, 'autorun_pool_gpus_in_use', { pool: 'a' })).toBe(3);
    expect(await value(m, 'autorun_pool_gpu_limit', { pool: 'a' })).toBe(4);
    expect(await value(m, 'autorun_pool_gpu_limit', { pool: 'b' })).toBeUndefined();
    expect(await value(m, 'autorun_pool_tasks', { pool: 'b', state: 'queued' })).toBe(7);
    m.pools([pool('b')]);
    expect(await value(m, 'autorun_pool_gpus_in_use', { pool: 'a' })).toBeUndefined();
  });
});
