// The conformance scenarios (scenarios.ts) through the operator: a real apiserver, scheduler and
// controller-manager with kwok nodes, the operator in this process as its own ServiceAccount, and
// the agents played by the integration tests' driver, which finishes each stage Pod with the
// scenario's StageResult through the Pod status. local.test.ts holds the local tier to the same table.
import { jest } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION, type CodingTask, type CodingTaskStatus } from '../../operator/src/api/types.js';
import { kube, kubeConfig } from '../harness/kube.js';
import { createPool, TestBed, type Ending as PodEnding, type StagePod } from '../integration/controller/support.js';
import { observed, SCENARIOS, seen, startOrder, until, type Scenario, type TaskDef, type Tier } from './scenarios.js';

jest.setTimeout(300_000);

let bed: TestBed;
/** The scenario each task belongs to, for the agents' script. */
const scenarioOf = new Map<string, Scenario>();
/** Every phase each task was seen in, from one watch on the namespace's tasks. */
const phases = new Map<string, string[]>();

/**
 * The watch of the namespace's tasks, restarted from the last resourceVersion it delivered whenever
 * it ends (or is restarted because it fell silent), so no write is missed.
 */
class TaskWatch {
  private rv: string | undefined;
  private current: { abort(): void } | undefined;
  private stopped = false;

  constructor(private readonly path: string) {}

  start(): void {
    if (this.stopped) return;
    const again = (): void => {
      if (!this.stopped) setTimeout(() => this.start(), 200);
    };
    new k8s.Watch(kubeConfig())
      .watch(
        this.path,
        this.rv ? { resourceVersion: this.rv } : {},
        (_type: string, t: CodingTask) => {
          this.rv = t.metadata.resourceVersion;
          const list = phases.get(t.metadata.name) ?? [];
          phases.set(t.metadata.name, list);
          seen(list, t.status?.phase);
        },
        () => again(),
      )
      .then(
        (w) => (this.current = w),
        () => again(),
      );
  }

  /** Ends the current connection; the done callback starts the next from where it was. */
  restart(): void {
    this.current?.abort();
  }

  stop(): void {
    this.stopped = true;
    this.current?.abort();
  }
}
let watch: TaskWatch | undefined;

beforeAll(async () => {
  bed = await TestBed.create('conformance');
  await bed.gpuNodes(2);
  await bed.startAgents((stage: StagePod): PodEnding => {
    const sc = scenarioOf.get(stage.task);
    if (!sc) return { leave: true };
    const e = sc.script(stage);
    return 'crash' in e ? { crash: e.crash } : { result: e.result, ...(e.until ? { until: e.until } : {}) };
  });
  watch = new TaskWatch(`/apis/${GROUP}/${VERSION}/namespaces/${bed.ns}/codingtasks`);
  watch.start();
  await bed.startOperator();
});

afterAll(async () => {
  watch?.stop();
  await bed?.tearDown();
});

function taskBody(pool: string, t: TaskDef): CodingTask {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CodingTask',
    metadata: { name: t.name, namespace: bed.ns },
    spec: {
      pool,
      goal: 'Implement fizzbuzz(n) in fizzbuzz.py.',
      language: 'python',
      ...(t.priority !== undefined ? { priority: t.priority } : {}),
      test: { command: 'pytest -q', ...(t.acceptance ? { acceptance: { configMapRef: { name: `${t.name}-acceptance` } } } : {}) },
      limits: { maxIterations: t.maxIterations ?? 5, maxCostUSD: t.maxCostUSD ?? '5', timeout: '2h' },
    },
  } as CodingTask;
}

class ClusterTier implements Tier {
  constructor(private readonly pool: string) {}

  async apply(tasks: TaskDef[]): Promise<void> {
    const { core, custom } = kube();
    for (const t of tasks) {
      if (t.acceptance) {
        await core.createNamespacedConfigMap({ namespace: bed.ns, body: { metadata: { name: `${t.name}-acceptance` }, data: { 'test_hidden.py': 'def test_hidden():\n    pass\n' } } });
      }
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks', body: taskBody(this.pool, t) });
    }
  }

  async setSuspend(task: string, suspend: boolean): Promise<void> {
    await kube().custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks', name: task, body: { spec: { suspend } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  async status(task: string): Promise<CodingTaskStatus> {
    const t = (await kube().custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: bed.ns, plural: 'codingtasks', name: task })) as CodingTask;
    return t.status ?? {};
  }
}

describe.each(SCENARIOS.map((s, i) => [s.name, s, i] as const))('the operator: %s', (_name, sc, i) => {
  test('the phases, reasons, stages and cost of the table', async () => {
    const pool = `conformance-${i}`;
    await createPool(bed.ns, { name: pool, isolationPrefix: bed.ns, gpuLimit: 2, maxConcurrentTasks: sc.maxConcurrentTasks ?? 16, runMaxAttempts: 2 });
    const tier = new ClusterTier(pool);
    for (const name of Object.keys(sc.expect)) scenarioOf.set(name, sc);
    await tier.apply(sc.tasks);
    await sc.drive?.(tier);
    const statuses: Record<string, CodingTaskStatus> = {};
    for (const name of Object.keys(sc.expect)) {
      statuses[name] = await until(`${name} finished`, async () => {
        const s = await tier.status(name);
        return s.phase === 'Succeeded' || s.phase === 'Failed' ? s : undefined;
      });
    }
    // The watch delivers every write in order, but may lag the read above: wait for it to catch up
    // with the final phase (a connection that fell silent is restarted from where it was).
    for (const name of Object.keys(sc.expect)) {
      let polls = 0;
      await until(`the watch to see ${name} finish`, async () => {
        if (++polls % 30 === 0) watch?.restart();
        return phases.get(name)?.at(-1) === statuses[name]!.phase;
      });
    }
    const got = Object.fromEntries(Object.keys(sc.expect).map((n) => [n, observed({ phases: phases.get(n) ?? [], status: statuses[n]! })]));
    expect(got).toEqual(sc.expect);
    if (sc.startOrder) expect(startOrder(statuses)).toEqual(sc.startOrder);
  });
});
