// The operator as an object: informers on CodingTask, AgentPool and stage Pods feed one work queue;
// while this replica holds the Lease, workers drain it through the Reconciler. Tests start and stop
// it in-process; main.ts wraps it for the `autorun operator` command.
import type { KubeConfig, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { API_VERSION, type AgentPool, type CodingTask } from '../api/types.js';
import { createLogger, type Logger } from '../util/log.js';
import type { SlackConfig } from '../report/slack/app.js';
import { sharedConnections, type SharedKubeConfig } from './connections.js';
import { startProbeServer } from './http.js';
import { ResilientInformer, errText } from './informer.js';
import { KubeApi } from './kube.js';
import { LeaderElector } from './leader.js';
import { ControllerMetrics } from './metrics.js';
import { BASELINE_POLICY, DEFAULT_EGRESS, POLICY_LABEL, type EgressConfig } from './netpol/build.js';
import { observeStage } from './pods/observe.js';
import { trimPodForCache } from './pods/trim.js';
import { labelValue, POOL_LABEL, STAGE_POD_SELECTOR, TASK_LABEL } from './pods/labels.js';
import { WorkQueue } from './queue.js';
import { TaskReporter } from './slack.js';
import { Reconciler, StaleCacheError, poolQueueKey, taskQueueKey, type Caches } from './reconcile.js';

export interface ControllerOptions {
  kc: KubeConfig;
  /** Watch one namespace; all namespaces when undefined. */
  namespace?: string;
  identity: string;
  /** false: act without a Lease (one replica, or tests of reconcile alone). */
  leaderElection?: false | { namespace: string; name: string; leaseDurationSeconds?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Port of /healthz, /readyz, /metrics; none when undefined, an ephemeral one when 0. */
  port?: number;
  workers?: number;
  /** Re-reconcile every task this often even without events (a safety net, like controller-runtime's SyncPeriod). */
  resyncMs?: number;
  /** Relist an informer that delivered no event for this long. */
  quietRelistMs?: number;
  poolStatusIntervalMs?: number;
  logLimitBytes?: number;
  queue?: { baseDelayMs?: number; maxDelayMs?: number };
  processMetrics?: boolean;
  log?: Logger;
  /** Report each task to a Slack thread (the leader only). */
  slack?: SlackConfig;
  /** Where stage Pods may connect (netpol/build.ts); false: write no NetworkPolicies. Default DEFAULT_EGRESS. */
  networkPolicies?: EgressConfig | false;
}

/**
 * A reconcile spends its time waiting for the apiserver (a Pod create, a status write), not on the
 * CPU, so workers are cheap; with few of them a burst of events queues behind slow writes and every
 * hand-off waits its turn. Per-key serialization and the admission bookkeeping keep many safe.
 */
export const DEFAULT_WORKERS = 32;

const key = (ns: string | undefined, name: string | undefined): string => `${ns ?? ''}/${name ?? ''}`;

/** A map of sets, for the cache indexes. */
class Index {
  private readonly m = new Map<string, Set<string>>();
  add(k: string, v: string): void {
    let s = this.m.get(k);
    if (!s) this.m.set(k, (s = new Set()));
    s.add(v);
  }
  remove(k: string, v: string): void {
    const s = this.m.get(k);
    if (!s) return;
    s.delete(v);
    if (s.size === 0) this.m.delete(k);
  }
  get(k: string): readonly string[] {
    return [...(this.m.get(k) ?? [])];
  }
}

export class Controller {
  readonly metrics: ControllerMetrics;
  readonly api: KubeApi;
  readonly log: Logger;
  readonly tasks: ResilientInformer<CodingTask>;
  readonly pools: ResilientInformer<AgentPool>;
  readonly pods: ResilientInformer<V1Pod>;
  readonly policies: ResilientInformer<V1NetworkPolicy> | undefined;
  private readonly podsByTask = new Index();
  private readonly podsByPool = new Index();
  private readonly tasksByPool = new Index();
  private readonly taskSeen = new Map<string, { generation?: number; deleting: boolean; phase?: string; pool: string }>();
  private readonly podSeen = new Map<string, string>();
  private queue: WorkQueue | undefined;
  private reconciler: Reconciler | undefined;
  private workers: Promise<void>[] = [];
  private elector: LeaderElector | undefined;
  private server: Server | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private readonly connections: SharedKubeConfig;
  private reporter: TaskReporter | undefined;
  port: number | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.log = o.log ?? createLogger('operator');
    this.metrics = new ControllerMetrics({ processMetrics: o.processMetrics });
    this.connections = sharedConnections(o.kc);
    const kc = this.connections.kc;
    this.api = new KubeApi(kc, this.metrics);
    const ns = o.namespace;
    const crPath = (plural: string): string => (ns ? `/apis/${API_VERSION}/namespaces/${ns}/${plural}` : `/apis/${API_VERSION}/${plural}`);
    const common = { kc, log: this.log, quietRelistMs: o.quietRelistMs };
    this.tasks = new ResilientInformer<CodingTask>({ ...common, name: 'codingtasks', path: crPath('codingtasks'), list: () => this.api.listTasks(ns) });
    this.pools = new ResilientInformer<AgentPool>({ ...common, name: 'agentpools', path: crPath('agentpools'), list: () => this.api.listPools(ns) });
    this.pods = new ResilientInformer<V1Pod>({
      ...common,
      name: 'pods',
      path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
      list: () => this.api.listPods(ns, STAGE_POD_SELECTOR),
      labelSelector: STAGE_POD_SELECTOR,
      transform: trimPodForCache,
    });
    if (o.networkPolicies !== false) {
      this.policies = new ResilientInformer<V1NetworkPolicy>({
        ...common,
        name: 'networkpolicies',
        path: ns ? `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies` : '/apis/networking.k8s.io/v1/networkpolicies',
        list: () => this.api.listNetworkPolicies(ns, POLICY_LABEL),
        labelSelector: POLICY_LABEL,
      });
      this.policies.on((ev, np) => this.onPolicy(ev, np));
    }
    this.tasks.on((ev, t) => this.onTask(ev, t));
    this.pools.on((ev, p) => this.onPool(ev, p));
    this.pods.on((ev, p) => this.onPod(ev, p));
  }

  readonly caches: Caches = {
    task: (ns, name) => this.tasks.get(name, ns),
    pool: (ns, name) => this.pools.get(name, ns),
    // Pods are indexed by their task label, which is the task's name unless that is over 63 characters.
    podsOfTask: (ns, task) => this.podsByTask.get(key(ns, labelValue(task))).flatMap((n) => this.pods.get(n, ns) ?? []),
    tasksOfPool: (ns, pool) => this.tasksByPool.get(key(ns, pool)).flatMap((n) => this.tasks.get(n, ns) ?? []),
    podsOfPool: (ns, pool) => {
      const names = new Set(this.podsByPool.get(key(ns, pool)));
      for (const t of this.tasksByPool.get(key(ns, pool))) for (const n of this.podsByTask.get(key(ns, labelValue(t)))) names.add(n);
      return [...names].flatMap((n) => this.pods.get(n, ns) ?? []);
    },
    networkPolicy: (ns, name) => this.policies?.get(name, ns),
  };

  hasSynced(): boolean {
    return this.tasks.hasSynced() && this.pools.hasSynced() && this.pods.hasSynced() && (this.policies?.hasSynced() ?? true);
  }

  isLeader(): boolean {
    return this.queue !== undefined;
  }

  /** Lease attempts made so far (0 without leader election): a follower that made some has lost them. */
  leaseAttempts(): number {
    return this.elector?.attempts ?? 0;
  }

  /** Leading, and nothing to reconcile now: no key waiting or in a worker (delayed keys not counted). */
  idle(): boolean {
    return this.queue !== undefined && this.queue.len() === 0 && this.queue.inFlight() === 0;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('controller already started');
    this.started = true;
    if (this.o.port !== undefined) {
      const { server, port } = await startProbeServer({
        port: this.o.port,
        registry: this.metrics.registry,
        ready: () => this.hasSynced() && !this.stopping,
        healthy: () => !this.stopping || this.workers.length > 0,
        beforeMetrics: () => this.refreshGauges(),
      });
      this.server = server;
      this.port = port;
    }
    if (this.o.slack) {
      this.reporter = await TaskReporter.create({
        config: this.o.slack,
        api: this.api,
        cachedTask: (ns, name) => this.tasks.get(name, ns),
        cachedTasks: () => this.tasks.list(),
        identity: this.o.identity,
        log: this.log,
      });
    }
    await Promise.all([this.tasks.start(), this.pools.start(), this.pods.start(), this.policies?.start()]);
    this.log.info('caches synced', { tasks: this.tasks.list().length, pools: this.pools.list().length, pods: this.pods.list().length, namespace: this.o.namespace ?? '(all)' });
    if (this.stopping) return;
    const le = this.o.leaderElection;
    if (le === false || le === undefined) {
      this.startWorkers();
    } else {
      this.elector = new LeaderElector({
        api: this.api.coordination,
        namespace: le.namespace,
        name: le.name,
        identity: this.o.identity,
        leaseDurationSeconds: le.leaseDurationSeconds,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        log: this.log,
        onStartedLeading: () => this.startWorkers(),
        onStoppedLeading: () => void this.stopWorkers(),
        onWrite: (verb, code) => this.metrics.write(verb, 'leases', code),
      });
      this.elector.start();
    }
    const resync = this.o.resyncMs ?? 10 * 60_000;
    this.resyncTimer = setInterval(() => this.enqueueAll(), resync);
    this.resyncTimer.unref();
  }

  /** Graceful: stop taking work, let in-flight reconciles finish, release the Lease, stop watching. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.resyncTimer);
    await this.stopWorkers();
    await this.elector?.stop();
    await Promise.all([this.tasks.stop(), this.pools.stop(), this.pods.stop(), this.policies?.stop()]);
    await this.connections.close();
    await this.reporter?.close();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.log.info('operator stopped', { identity: this.o.identity });
  }

  private startWorkers(): void {
    if (this.queue || this.stopping) return;
    const queue = new WorkQueue({ ...this.o.queue, observeWait: (ms) => this.metrics.queueWait.observe(ms / 1000) });
    this.queue = queue;
    this.metrics.isLeader.set(1);
    const reconciler = new Reconciler({
      api: this.api,
      caches: this.caches,
      metrics: this.metrics,
      queue,
      log: this.log,
      identity: this.o.identity,
      logLimitBytes: this.o.logLimitBytes,
      poolStatusIntervalMs: this.o.poolStatusIntervalMs,
      reporter: this.reporter,
      egress: this.o.networkPolicies === false ? undefined : (this.o.networkPolicies ?? DEFAULT_EGRESS),
    });
    this.reconciler = reconciler;
    const n = this.o.workers ?? DEFAULT_WORKERS;
    this.workers = Array.from({ length: n }, () => this.work(queue, reconciler));
    this.enqueueAll();
    this.log.info('workers started', { workers: n });
  }

  private async stopWorkers(): Promise<void> {
    const queue = this.queue;
    const reconciler = this.reconciler;
    if (!queue) return;
    this.queue = undefined;
    this.reconciler = undefined;
    this.metrics.isLeader.set(0);
    queue.shutDown();
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers);
    await reconciler?.flushEvents();
    await this.reporter?.flush();
  }

  private async work(queue: WorkQueue, reconciler: Reconciler): Promise<void> {
    for (;;) {
      // A reconcile that writes nothing never leaves the microtask queue, and neither does get()
      // while keys wait: without a macrotask turn here, 32 workers working through a long queue of
      // such reconciles starved the event loop, so watch events (the very pool the tasks waited
      // for) and Lease renewals were not read until the queue ran dry.
      await new Promise((r) => setImmediate(r));
      const k = await queue.get();
      if (k === undefined) return;
      this.metrics.queueDepth.set(queue.len());
      const t0 = performance.now();
      try {
        await reconciler.reconcile(k);
        queue.forget(k);
        this.log.debug('reconciled', { key: k, ms: +(performance.now() - t0).toFixed(1), queued: queue.len() });
      } catch (err) {
        const delay = queue.addRateLimited(k);
        const level = err instanceof StaleCacheError ? 'debug' : 'warn';
        this.log.log(level, 'reconcile failed, retrying', { key: k, err: errText(err), retryInMs: delay });
      } finally {
        queue.done(k);
      }
    }
  }

  private enqueue(k: string): void {
    this.queue?.add(k);
  }

  private enqueueAll(): void {
    if (!this.queue) return;
    for (const t of this.tasks.list()) this.enqueue(taskQueueKey(t.metadata!.namespace!, t.metadata!.name!));
    for (const p of this.pools.list()) this.enqueue(poolQueueKey(p.metadata!.namespace!, p.metadata!.name!));
  }

  private onTask(ev: 'add' | 'update' | 'delete', t: CodingTask): void {
    const ns = t.metadata.namespace!;
    const name = t.metadata.name;
    const k = key(ns, name);
    const prev = this.taskSeen.get(k);
    const pool = t.spec?.pool ?? 'default';
    if (ev === 'delete') {
      this.taskSeen.delete(k);
      if (prev) this.tasksByPool.remove(key(ns, prev.pool), name);
      this.reconciler?.forgetTask(ns, name);
      this.enqueue(poolQueueKey(ns, prev?.pool ?? pool));
      return;
    }
    this.reconciler?.taskCached(ns, name, t.metadata.resourceVersion);
    const seen = { generation: t.metadata.generation, deleting: !!t.metadata.deletionTimestamp, phase: t.status?.phase, pool };
    this.taskSeen.set(k, seen);
    if (prev && prev.pool !== pool) this.tasksByPool.remove(key(ns, prev.pool), name);
    this.tasksByPool.add(key(ns, pool), name);
    // Our own status writes come back as updates; they need no reconcile (the overlay has them).
    // A spec change, a deletion or a task we did not know does.
    if (!prev || prev.generation !== seen.generation || prev.deleting !== seen.deleting || prev.pool !== pool) this.enqueue(taskQueueKey(ns, name));
    if (!prev || prev.phase !== seen.phase || prev.pool !== pool) {
      this.enqueue(poolQueueKey(ns, pool));
      if (prev && prev.pool !== pool) this.enqueue(poolQueueKey(ns, prev.pool));
    }
  }

  private onPool(ev: 'add' | 'update' | 'delete', p: AgentPool): void {
    const ns = p.metadata.namespace!;
    const name = p.metadata.name;
    const k = key(ns, name);
    const prevGen = this.poolGen.get(k);
    if (ev === 'delete') this.poolGen.delete(k);
    else this.poolGen.set(k, p.metadata.generation);
    if (ev === 'update' && prevGen === p.metadata.generation) return;
    this.enqueue(poolQueueKey(ns, name));
    // Tasks waiting for this pool to exist, or whose settings it changes.
    for (const t of this.tasksByPool.get(k)) this.enqueue(taskQueueKey(ns, t));
  }
  private readonly poolGen = new Map<string, number | undefined>();

  private onPod(ev: 'add' | 'update' | 'delete', p: V1Pod): void {
    const ns = p.metadata?.namespace;
    const name = p.metadata?.name;
    const label = p.metadata?.labels?.[TASK_LABEL];
    if (!ns || !name || !label) return;
    // The label is a shortened name for a task name over 63 characters; the owner has it whole.
    const task = p.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'CodingTask')?.name ?? label;
    const pool = p.metadata?.labels?.[POOL_LABEL];
    const pk = key(ns, name);
    this.reconciler?.podSeen(ns, name);
    if (ev === 'delete') {
      this.podSeen.delete(pk);
      this.podsByTask.remove(key(ns, label), name);
      if (pool) this.podsByPool.remove(key(ns, pool), name);
    } else {
      this.podsByTask.add(key(ns, label), name);
      if (pool) this.podsByPool.add(key(ns, pool), name);
      // Only what a decision reads matters: a bind, an IP assignment or a stage going Pending →
      // Running changes none of it (status records Running with its next needed write, see
      // core/defer.ts), so none of them costs a reconcile.
      const o = observeStage(p);
      const live = o && (o.state === 'Pending' || o.state === 'Running');
      const sig = JSON.stringify([live ? { ...o, state: 'live', startTime: undefined } : (o ?? null), !!p.metadata?.deletionTimestamp]);
      if (this.podSeen.get(pk) === sig) return;
      this.podSeen.set(pk, sig);
    }
    this.enqueue(taskQueueKey(ns, task));
    const taskPool = pool ?? this.taskSeen.get(key(ns, task))?.pool;
    if (taskPool) this.enqueue(poolQueueKey(ns, taskPool));
  }

  /** A policy changed or went away under us: its pool (or, for the baseline, every pool there) puts it back. */
  private onPolicy(ev: 'add' | 'update' | 'delete', np: V1NetworkPolicy): void {
    if (ev === 'add') return;
    const ns = np.metadata?.namespace;
    if (!ns) return;
    if (ev === 'delete') this.reconciler?.policyGone(ns, np.metadata!.name!);
    const owner = np.metadata?.ownerReferences?.find((r) => r.kind === 'AgentPool')?.name;
    if (owner) this.enqueue(poolQueueKey(ns, owner));
    else if (np.metadata?.name === BASELINE_POLICY) for (const p of this.pools.list(ns)) this.enqueue(poolQueueKey(ns, p.metadata.name));
  }

  private refreshGauges(): void {
    this.metrics.queueDepth.set(this.queue?.len() ?? 0);
    this.metrics.tasksByPhase.reset();
    for (const t of this.tasks.list()) this.metrics.tasksByPhase.inc({ phase: t.status?.phase ?? 'Pending' });
    for (const [name, inf] of [['codingtasks', this.tasks], ['agentpools', this.pools], ['pods', this.pods]] as const) {
      this.metrics.informerCounts(name, inf.restarts, inf.relists);
    }
    this.metrics.pools(this.pools.list());
  }
}
