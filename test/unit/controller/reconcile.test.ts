// Reconcile through its seams (Caches, the KubeApi calls it makes, the Enqueuer): it carries out the
// core's decision, and says in its Result when it wants the key again instead of queueing it.
import type { CoreV1Event, V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node';
import type { AgentPool, CodingTask, CodingTaskStatus } from '../../../operator/src/api/types.js';
import { ControllerMetrics } from '../../../operator/src/controller/metrics.js';
import type { KubeApi } from '../../../operator/src/controller/kube.js';
import { Reconciler, StaleCacheError, poolQueueKey, taskQueueKey, type Caches } from '../../../operator/src/controller/reconcile.js';
import { TerminalError } from '../../../operator/src/controller/result.js';
import { createLogger } from '../../../operator/src/util/log.js';
import { pool as makePool, task as makeTask } from './pods/fixtures.js';

class FakeApi {
  readonly pods: V1Pod[] = [];
  readonly events: CoreV1Event[] = [];
  readonly statuses: CodingTaskStatus[] = [];
  readonly poolStatuses: unknown[] = [];
  conflict = false;
  async createPod(_ns: string, pod: V1Pod): Promise<'created' | 'exists'> {
    if (this.pods.some((p) => p.metadata?.name === pod.metadata?.name)) return 'exists';
    this.pods.push(pod);
    return 'created';
  }
  async deletePod(): Promise<'deleted'> {
    return 'deleted';
  }
  async createEvent(_ns: string, e: CoreV1Event): Promise<'created'> {
    this.events.push(e);
    return 'created';
  }
  async replaceTaskStatus(task: CodingTask, status: CodingTaskStatus): Promise<CodingTask> {
    if (this.conflict) throw new ApiException(409, 'Conflict', {}, {});
    this.statuses.push(status);
    return { ...task, metadata: { ...task.metadata, resourceVersion: String(Number(task.metadata.resourceVersion ?? 0) + 1) }, status };
  }
  async patchPoolStatus(pool: AgentPool, status: unknown): Promise<AgentPool> {
    this.poolStatuses.push(status);
    return pool;
  }
  async createConfigMap(): Promise<'created'> {
    return 'created';
  }
  async readConfigMap(): Promise<V1ConfigMap> {
    return {};
  }
}

function setup(tasks: CodingTask[], pools: AgentPool[]) {
  const api = new FakeApi();
  const enqueued: string[] = [];
  const caches: Caches = {
    task: (ns, n) => tasks.find((t) => t.metadata.namespace === ns && t.metadata.name === n),
    pool: (ns, n) => pools.find((p) => p.metadata.namespace === ns && p.metadata.name === n),
    podsOfTask: () => [],
    tasksOfPool: (ns, p) => tasks.filter((t) => t.metadata.namespace === ns && (t.spec.pool ?? 'default') === p),
    podsOfPool: () => [],
    networkPolicy: () => undefined,
  };
  const r = new Reconciler({
    api: api as unknown as KubeApi,
    caches,
    metrics: new ControllerMetrics(),
    queue: { add: (k) => enqueued.push(k) },
    log: createLogger('test', 'error'),
    identity: 'test',
    poolStatusIntervalMs: 60_000,
  });
  return { api, enqueued, r };
}

const created = new Date(Date.now() - 1000).toISOString();
const task = (name: string) => makeTask({}, { name, creationTimestamp: created, resourceVersion: '1' });

test('a new task: its code and test Pods are created, status written, Events posted, and its deadline asked for in the Result', async () => {
  const { api, enqueued, r } = setup([task('a')], [makePool()]);
  const res = await r.reconcile(taskQueueKey('team-a', 'a'));
  expect(api.pods.map((p) => p.metadata?.name).sort()).toEqual(['a-i1-code-a0', 'a-i1-test-a0']);
  expect(api.statuses.at(-1)?.phase).toBe('Coding');
  await r.flushEvents();
  expect(api.events.length).toBeGreaterThan(0);
  // Not queued by reconcile itself: the worker does that from the Result (the task's 2h timeout).
  expect(res.requeueAfterMs).toBeGreaterThan(0);
  expect(res.requeueAfterMs).toBeLessThanOrEqual(2 * 3600_000);
  expect(enqueued).toEqual([poolQueueKey('team-a', 'default')]);
});

test('a second reconcile from the same (lagging) cache creates nothing again and posts no Event twice', async () => {
  const { api, r } = setup([task('b')], [makePool()]);
  await r.reconcile(taskQueueKey('team-a', 'b'));
  await r.flushEvents();
  const events = api.events.length;
  await r.reconcile(taskQueueKey('team-a', 'b'));
  await r.flushEvents();
  expect(api.pods).toHaveLength(2);
  expect(api.events).toHaveLength(events);
});

test('a conflict on the status write is a StaleCacheError (retried with backoff)', async () => {
  const { api, r } = setup([task('c')], [makePool()]);
  api.conflict = true;
  await expect(r.reconcile(taskQueueKey('team-a', 'c'))).rejects.toBeInstanceOf(StaleCacheError);
});

test('a key that cannot be parsed is a TerminalError: retrying cannot help', async () => {
  const { r } = setup([], []);
  await expect(r.reconcile('deployment/x')).rejects.toBeInstanceOf(TerminalError);
});

test('a gone task is done: nothing written, nothing asked for', async () => {
  const { api, r } = setup([], [makePool()]);
  expect(await r.reconcile(taskQueueKey('team-a', 'gone'))).toEqual({});
  expect(api.statuses).toHaveLength(0);
});

test('a pool status changing faster than its write interval asks for a later reconcile instead of writing', async () => {
  const tasks = [task('d')];
  const { api, r } = setup(tasks, [makePool()]);
  expect(await r.reconcile(poolQueueKey('team-a', 'default'))).toEqual({});
  expect(api.poolStatuses).toHaveLength(1);
  await r.reconcile(taskQueueKey('team-a', 'd'));
  // The task now holds a slot: the pool's counters moved within the interval.
  const again = await r.reconcile(poolQueueKey('team-a', 'default'));
  expect(api.poolStatuses).toHaveLength(1);
  expect(again.requeueAfterMs).toBeGreaterThan(0);
  expect(again.requeueAfterMs).toBeLessThanOrEqual(60_000);
});
