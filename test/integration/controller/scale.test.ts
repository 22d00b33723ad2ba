// 20 tasks on a pool of 16 GPUs (16 fake L4 nodes, maxConcurrentTasks 16, gpu limit 16): four wait in
// the queue, 16 GPU Pods and never more run at once, and every task finishes. Prints the figures
// the design's targets are about (API writes per loop iteration, reconciles per task) and writes
// them to /tmp/autorun-controller-figures.json.
import { jest } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { eventually } from '../../harness/kube.js';
import {
  createPool,
  createTask,
  failingRun,
  getPool,
  getTask,
  percentile,
  success,
  TestBed,
} from './support.js';

jest.setTimeout(240_000);

const TASKS = 20;
let bed: TestBed;
let ns: string;

beforeAll(async () => {
  bed = await TestBed.create('ctl-scale');
  ns = bed.ns;
  await bed.gpuNodes(16);
});

afterAll(() => bed?.tearDown());

test('20 tasks on 16 GPUs queue, never exceed the GPU limit, and all finish', async () => {
  await createPool(ns, { isolationPrefix: ns, maxConcurrentTasks: 16, gpuLimit: 16 });
  const names = Array.from({ length: TASKS }, (_, i) => `t-${i}`);
  // The first run stages hold their GPUs until every GPU is taken and the four tasks without a slot
  // are seen queued: so the limit is reached and the queue used by construction, not by timing.
  let allCreated = (): void => undefined;
  const created = new Promise<void>((r) => (allCreated = r));
  let full: Promise<unknown> | undefined;
  const fullPool = () =>
    eventually(
      async () => {
        await created;
        if (agents.maxLiveGpuPods < 16) throw new Error(`${agents.maxLiveGpuPods} GPU Pods live`);
        const queued = (await Promise.all(names.map((n) => getTask(ns, n)))).filter((t) => t.status?.phase === 'Queued').length;
        if (queued < TASKS - 16) throw new Error(`${queued} tasks queued`);
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
  // Every fourth task needs one repair.
  const agents = await bed.startAgents((s) => {
    const needsRepair = Number(s.task.split('-')[1]) % 4 === 0;
    const until = s.role === 'run' ? (full ??= fullPool()) : undefined;
    if (s.role === 'run' && s.iteration === 1 && needsRepair) return { result: failingRun(s, ['test_edge']), until };
    return { result: success(s), until };
  });
  const operator = await bed.startOperator();

  const t0 = Date.now();
  // All at once, as `kubectl apply -f tasks/` would.
  await Promise.all(names.map((n) => createTask(ns, n)));
  allCreated();
  const finished = await eventually(
    async () => {
      const tasks = await Promise.all(names.map((n) => getTask(ns, n)));
      const open = tasks.filter((t) => !['Succeeded', 'Failed'].includes(t.status?.phase ?? ''));
      if (open.length) throw new Error(`${open.length} tasks still open: ${open.map((t) => `${t.metadata.name}=${t.status?.phase}`).join(' ')}`);
      return tasks;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
  const wallMs = Date.now() - t0;

  expect(finished.map((t) => t.status?.phase)).toEqual(names.map(() => 'Succeeded'));
  expect(agents.errors).toEqual([]);
  // Four tasks found the pool full and waited.
  expect(finished.filter((t) => t.status?.queuedAt).length).toBeGreaterThanOrEqual(TASKS - 16);
  // The GPU limit held at every Pod creation, and it was used to the full.
  expect(agents.maxLiveGpuPods).toBe(16);
  // Each stage Pod was created once: names are unique and no attempt beyond 0 was needed.
  expect([...agents.seen.values()].every((s) => s.attempt === 0)).toBe(true);
  const pool = await eventually(async () => {
    const p = await getPool(ns);
    if (p.status?.activeTasks !== 0 || p.status?.gpusInUse !== 0) throw new Error(`pool status ${JSON.stringify(p.status)}`);
    return p;
  });
  expect(pool.status?.queuedTasks).toBe(0);

  // Figures.
  const tallies = names.map((n) => operator.metrics.tally(`${ns}/${n}`));
  const iterations = finished.reduce((a, t) => a + (t.status?.iteration ?? 0), 0);
  const writes = tallies.reduce((a, t) => a + t.writes, 0);
  const byResource: Record<string, number> = {};
  for (const t of tallies) for (const [r, n] of Object.entries(t.writesByResource)) byResource[r] = (byResource[r] ?? 0) + n;
  const reconciles = tallies.map((t) => t.reconciles);
  const transitions = tallies.map((t) => t.transitions);
  const stageWrites = writes - (byResource.events ?? 0);
  const handoffs: number[] = [];
  for (const n of names) {
    const stages = agents.stagesOf(n).sort((a, b) => agents.createdAt.get(a.name)! - agents.createdAt.get(b.name)!);
    for (let i = 1; i < stages.length; i++) {
      // A hand-off: the stage that finished last before this one was created.
      const created = agents.createdAt.get(stages[i]!.name)!;
      const prevFinish = Math.max(...stages.slice(0, i).map((s) => agents.finishSeenAt.get(s.name) ?? -Infinity).filter((f) => f <= created));
      if (Number.isFinite(prevFinish)) handoffs.push(created - prevFinish);
    }
  }
  const figures = {
    tasks: TASKS,
    wallSeconds: wallMs / 1000,
    loopIterations: iterations,
    apiWritesPerIteration: +(writes / iterations).toFixed(2),
    apiWritesPerIterationWithoutEvents: +(stageWrites / iterations).toFixed(2),
    apiWritesByResource: byResource,
    reconcilesPerTask: { mean: +(reconciles.reduce((a, b) => a + b, 0) / TASKS).toFixed(2), max: Math.max(...reconciles) },
    phaseTransitionsPerTask: { mean: +(transitions.reduce((a, b) => a + b, 0) / TASKS).toFixed(2) },
    reconcilesPerTransition: +(reconciles.reduce((a, b) => a + b, 0) / transitions.reduce((a, b) => a + b, 0)).toFixed(2),
    handoffMs: { p50: percentile(handoffs, 50), p99: percentile(handoffs, 99), n: handoffs.length },
    maxLiveGpuPods: agents.maxLiveGpuPods,
  };
  writeFileSync('/tmp/autorun-controller-figures.json', JSON.stringify(figures, null, 2));
  process.stderr.write(`\ncontroller figures (20 tasks / 16 GPUs): ${JSON.stringify(figures, null, 2)}\n`);
  // Every task was reconciled and went through its phases. How many status writes per transition
  // and reconciles per task it took depends on the machine's timing (a lagging cache costs a
  // conflict and a retry): those are figures, printed above and measured by `make bench`.
  expect(Math.min(...reconciles)).toBeGreaterThan(0);
  expect(Math.min(...transitions)).toBeGreaterThanOrEqual(3);
});
