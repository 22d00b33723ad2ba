// One reconcile of a CodingTask or an AgentPool. Reads only the informer caches (plus the overlay
// of our own last status write, which the cache may not show yet), asks the loop core what to do,
// and carries it out idempotently: deterministic Pod names make creates safe to repeat, expectations
// stop a lagging cache from causing a repeat at all, status is written only when it differs, and
// Events are named by content so a repeated transition posts nothing.
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { specWithDefaults } from '../api/defaults.js';
import type { AgentPool, CodingTask, CodingTaskStatus, Role } from '../api/types.js';
import { roleSettings } from '../api/pool-roles.js';
import { eventsOf, type TaskEvent } from '../contract/events.js';
import { isIdlePhase, isTerminal, isTerminalPhase } from '../contract/phases.js';
import { decide } from '../core/loop.js';
import { parseStageName } from '../core/names.js';
import type { Action, LoopOutput, ObservedStage, PoolView } from '../core/types.js';
import type { Logger } from '../util/log.js';
import { computeAdmission, gpuWakeups, poolStatus, type Admission, type GpuWaiter } from './admission.js';
import { EventRecorder } from './event-recorder.js';
import { Expectations, PodsInFlight, StatusOverlay } from './expectations.js';
import { parseQueueKey, poolQueueKey, taskQueueKey } from './keys.js';
import { httpCode, type KubeApi } from './kube.js';
import type { ControllerMetrics } from './metrics.js';
import { NetworkPolicies } from './netpol/ensure.js';
import type { EgressConfig } from './netpol/build.js';
import { buildStagePod } from './pods/build.js';
import { isControlledBy } from './pods/owner.js';
import { observeStage } from './pods/observe.js';
import { reportConfigMapName } from './pods/report.js';
import { ensureRepairReport } from './repair-report.js';
import { receivesFailureReport } from '../contract/repair-input.js';
import { DONE, requeueAfter, sooner, TerminalError, type Result } from './result.js';
import { jsonEqual } from './status.js';

export { parseQueueKey, poolQueueKey, taskQueueKey };

/** Read-only views of the informer caches, indexed the way reconcile looks things up. */
export interface Caches {
  task(namespace: string, name: string): CodingTask | undefined;
  pool(namespace: string, name: string): AgentPool | undefined;
  podsOfTask(namespace: string, task: string): V1Pod[];
  tasksOfPool(namespace: string, pool: string): CodingTask[];
  podsOfPool(namespace: string, pool: string): V1Pod[];
  networkPolicy(namespace: string, name: string): V1NetworkPolicy | undefined;
}

/** Other keys a reconcile wakes (a pool after its task's phase moved, tasks after their pool's); its own it asks for in its Result. */
export interface Enqueuer {
  add(key: string): void;
}

export interface ReconcilerOptions {
  api: KubeApi;
  caches: Caches;
  metrics: ControllerMetrics;
  queue: Enqueuer;
  log: Logger;
  identity: string;
  /** Most bytes of a run Pod's log kept as the failure report. */
  logLimitBytes?: number;
  /** Pool status is a set of counters that move with every Pod; write it at most this often. */
  poolStatusIntervalMs?: number;
  /** Dollars per GPU-hour when the pool does not say (annotation autorun.dev/gpu-hour-usd). */
  gpuHourUSD?: number;
  /** Told (and expected to return at once) after a reconcile that wrote status or posted Events. */
  reporter?: { report(task: CodingTask, status: CodingTaskStatus, events: TaskEvent[]): void; forgetTask(namespace: string, name: string): void };
  /** The stage Pods' egress (netpol/build.ts); undefined: the operator writes no NetworkPolicies. */
  egress?: EgressConfig;
}

export type { TaskEvent };

/** A Conflict on the status write: the cache was stale; retry after the watch catches up. */
export class StaleCacheError extends Error {}

export const GPU_HOUR_ANNOTATION = 'autorun.dev/gpu-hour-usd';

export class Reconciler {
  /** Stage Pods created but not yet in the cache, per task. */
  // Five minutes, as client-go's expectations: a Pod the cache has not shown yet is never taken
  // for lost (lostStages) while a watch is slow or being relisted.
  readonly creating = new Expectations(5 * 60_000);
  /** Stage Pods deleted but still in the cache, per task. */
  readonly deleting = new Expectations();
  /** Our last status write per task while the cache still shows the version it replaced. */
  private readonly written = new StatusOverlay();
  /**
   * Tasks whose last reconcile started nothing and has nothing running: they wait for the pool, for
   * a slot (not admitted) or for GPUs (gpus: the fewest that would let them start a stage; 0 when
   * they were refused none).
   */
  private readonly waiting = new Map<string, { admitted: boolean; gpus: number }>();
  /** GPU waiters woken and not reconciled yet, with the GPUs each was woken for (see reconcilePool). */
  private readonly gpuWoken = new Map<string, number>();
  private readonly poolSeen = new Map<string, { gpusInUse: number; activeTasks: number; generation?: number }>();
  private readonly poolWrittenAt = new Map<string, number>();
  private readonly defaulted = new WeakMap<object, CodingTask>();
  /**
   * Tasks this replica let into a working phase. Workers reconcile different tasks concurrently,
   * each from its own snapshot; counting these as slot holders at once is what keeps two of them
   * from both taking the pool's last slot while the first one's status write is in flight.
   */
  private readonly admitted = new Set<string>();
  private readonly inFlight = new PodsInFlight();
  private readonly policies: NetworkPolicies;
  private readonly events: EventRecorder;

  constructor(private readonly o: ReconcilerOptions) {
    this.policies = new NetworkPolicies(o.api, (ns, n) => o.caches.networkPolicy(ns, n), o.egress, o.log);
    this.events = new EventRecorder(o.api, o.log, o.identity);
  }

  /**
   * One reconcile of a queue key. Returns when it wants the key again (the worker queues it);
   * throws to be retried with backoff, or a TerminalError not to be retried.
   */
  async reconcile(queueKey: string): Promise<Result> {
    let kind = 'unknown';
    const end = this.o.metrics.reconcileSeconds.startTimer();
    try {
      const k = parseQueueKey(queueKey);
      kind = k.kind;
      let r: Result;
      if (k.kind === 'task') {
        try {
          r = await this.reconcileTask(k.namespace, k.name);
        } finally {
          // Its wake-up is spent: it took the GPUs (its Pods count from now on), or waits again.
          this.gpuWoken.delete(`${k.namespace}/${k.name}`);
        }
      } else r = await this.reconcilePool(k.namespace, k.name);
      this.o.metrics.reconciles.inc({ kind, result: 'ok' });
      return r;
    } catch (err) {
      this.o.metrics.reconciles.inc({ kind, result: err instanceof StaleCacheError ? 'conflict' : err instanceof TerminalError ? 'terminal' : 'error' });
      throw err;
    } finally {
      end({ kind });
    }
  }

  /** The cache now shows this Pod (or its deletion): it no longer needs to be counted in flight. */
  podSeen(namespace: string, name: string): void {
    this.inFlight.seen(namespace, name);
  }

  /** Forgets what was kept for a task that is gone. */
  forgetTask(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    this.creating.forget(key);
    this.deleting.forget(key);
    this.written.forget(key);
    this.waiting.delete(key);
    this.gpuWoken.delete(key);
    this.admitted.delete(key);
    this.o.reporter?.forgetTask(namespace, name);
  }

  /** The newest version of a task we know: the cache, or our own write the cache has not caught up with. */
  current(cached: CodingTask): CodingTask {
    return this.written.current(cached);
  }

  /**
   * The task with CRD defaults in its spec, kept per cached object. The apiserver has defaulted
   * what it serves, so normally this is the cached object itself; otherwise only what lacked a
   * default is copied (metadata and status stay shared with the cache, which nothing here mutates),
   * so each of ten thousand tasks is not held twice.
   */
  private withSpecDefaults(task: CodingTask): CodingTask {
    let d = this.defaulted.get(task);
    if (!d) {
      const spec = specWithDefaults('CodingTask', task.spec);
      d = spec === task.spec ? task : { ...task, spec };
      this.defaulted.set(task, d);
    }
    return d;
  }

  /** The cache moved past our last status write of this task: the overlay is not needed any more. */
  taskCached(namespace: string, name: string, resourceVersion: string | undefined): void {
    this.written.cached(`${namespace}/${name}`, resourceVersion);
  }

  private admissionOf(pool: AgentPool): Admission {
    const { namespace, name } = pool.metadata;
    const tasks = this.o.caches.tasksOfPool(namespace!, name).map((t) => {
      const cur = this.withSpecDefaults(this.current(t));
      // Admitted by a reconcile whose status write has not landed yet: it holds its slot already.
      if (this.admitted.has(`${namespace}/${t.metadata.name}`) && isIdlePhase(cur.status?.phase)) {
        return { ...cur, status: { ...cur.status, phase: 'Coding' as const } };
      }
      return cur;
    });
    // Pods we created that the cache does not show yet hold GPUs all the same.
    const pods = this.inFlight.withCached(namespace!, this.o.caches.podsOfPool(namespace!, name));
    return computeAdmission(pool, tasks, pods);
  }

  private async reconcileTask(namespace: string, name: string): Promise<Result> {
    const key = `${namespace}/${name}`;
    const cached = this.o.caches.task(namespace, name);
    if (!cached) {
      this.forgetTask(namespace, name);
      return DONE;
    }
    const tally = this.o.metrics.tally(key);
    tally.reconciles++;
    // Deleting: the garbage collector removes the Pods; writing status now would only conflict.
    if (cached.metadata.deletionTimestamp) return DONE;
    const task = this.withSpecDefaults(this.current(cached));
    const pool = this.o.caches.pool(namespace, task.spec.pool ?? 'default');
    const labelled = this.o.caches.podsOfTask(namespace, name);
    for (const p of labelled) this.creating.observed(key, p.metadata!.name!);
    // A Pod we deleted (an earlier task's, in the way of this one's) that is now gone from the cache:
    // not lost in this pass (it is created again below), and no longer in the way of a delete.
    const deleted = this.deleting.pending(key).filter((n) => !labelled.some((p) => p.metadata!.name === n));
    for (const n of deleted) this.deleting.observed(key, n);
    // Pods an earlier task of this name left behind are not this task's work; their names block
    // this task's creates until they are gone (see startStage).
    const pods = labelled.filter((p) => isControlledBy(p, task.metadata.uid));
    const leftovers = new Map(labelled.filter((p) => !pods.includes(p)).map((p) => [p.metadata!.name!, p]));
    const podsByName = new Map(pods.map((p) => [p.metadata!.name!, p]));

    const observed: ObservedStage[] = [];
    for (const p of pods) {
      const o = observeStage(p);
      if (o) observed.push(o);
    }
    // A Pod we created that the cache does not show yet is Pending, not lost.
    for (const podName of this.creating.pending(key)) {
      if (podsByName.has(podName)) continue;
      const stage = parseStageName(name, podName);
      if (stage) observed.push({ ...stage, name: podName, state: 'Pending' });
    }
    observed.push(...lostStages(task, observed, (n) => leftovers.has(n) || deleted.includes(n)));

    // Admission looks at every task of the pool; a suspended or finished task starts nothing and
    // shows no pool standing (see decide()), so it is spared that walk: with thousands of idle tasks
    // it made each reconcile O(tasks) and a resync O(tasks²).
    const startsNothing = task.spec.suspend === true || isTerminal(task.status);
    const admission = pool && !startsNothing ? this.admissionOf(pool) : undefined;
    const entry = admission?.byTask.get(key);
    let refusedGpus = Number.POSITIVE_INFINITY;
    const poolView: PoolView = {
      exists: !!pool,
      admitted: entry?.admitted ?? false,
      queuePosition: entry?.queuePosition,
      // decide() asks once per stage it is about to start, from this one snapshot.
      gpuAvailable: (role: Role) => {
        const ok = admission?.claimGpus(role, key) ?? false;
        if (!ok && pool && poolView.admitted) refusedGpus = Math.min(refusedGpus, roleSettings(pool, role).gpus);
        return ok;
      },
      gpuHourUSD: gpuHourUSD(pool, this.o.gpuHourUSD),
      maxAttempts: (role: Role) => (pool ? roleSettings(pool, role).maxAttempts : 1),
    };

    const now = new Date();
    const out: LoopOutput = decide({
      name,
      generation: task.metadata.generation ?? 0,
      spec: task.spec,
      status: task.status ?? {},
      observed,
      pool: poolView,
      createdAt: task.metadata.creationTimestamp ?? now.toISOString(),
      now,
    });

    // Still synchronous since the admission snapshot above, so no other reconcile saw it in between.
    if (isIdlePhase(out.status.phase)) this.admitted.delete(key);
    else this.admitted.add(key);

    // Stage Pods first (the hand-off latency is Pod finished → next Pod created), in parallel.
    const results = await Promise.allSettled(
      out.actions.map((a) =>
        a.type === 'StartStage'
          ? this.startStage(task, pool, a, observed, podsByName, leftovers, key)
          : a.type === 'StopStage'
            ? this.stopStage(namespace, a.name, podsByName.get(a.name), key).then(() => false)
            : Promise.resolve(false),
      ),
    );
    const failedAction = results.find((r) => r.status === 'rejected');
    if (failedAction) throw (failedAction as PromiseRejectedResult).reason;
    const started = results.filter((r) => r.status === 'fulfilled' && r.value).length;

    const phaseBefore = task.status?.phase;
    let wrote = false;
    // A deferrable change (a stage Pending → Running, one finishing beside a partner that still
    // runs) is left for the next write: the loop derives it again from the same Pods.
    if (!out.deferrable && !jsonEqual(task.status ?? {}, out.status)) {
      try {
        const updated = await this.o.api.replaceTaskStatus(task, out.status, key);
        this.written.wrote(key, cached.metadata.resourceVersion, updated);
        wrote = true;
        this.o.metrics.statusWritten(namespace, task.spec.pool ?? 'default', task.metadata.creationTimestamp, task.status ?? {}, out.status);
        this.o.log.debug('status written', { task: key, phase: out.status.phase, reason: out.status.reason });
      } catch (err) {
        if (httpCode(err) === 409) throw new StaleCacheError(`status of ${key} was computed from a stale cache`);
        throw err;
      }
      if (out.status.phase !== phaseBefore) {
        tally.transitions++;
        this.o.metrics.transitions.inc();
      }
      tally.iterations = Math.max(tally.iterations, out.status.iteration ?? 0);
      if (pool && out.status.phase !== phaseBefore) this.o.queue.add(poolQueueKey(namespace, pool.metadata.name));
    }

    const posted: TaskEvent[] = eventsOf(out.actions).filter((e) => this.events.post(task, e, key));
    let result = DONE;
    for (const a of out.actions) if (a.type === 'RequeueAt') result = sooner(result, requeueAfter(Date.parse(a.at) - Date.now()));

    if (wrote || posted.length > 0) this.o.reporter?.report(task, out.status, posted);

    const live = observed.some((s) => s.state === 'Pending' || s.state === 'Running');
    const phase = out.status.phase;
    if (started === 0 && !live && phase && !isTerminalPhase(phase) && phase !== 'Suspended') {
      const gpus = Number.isFinite(refusedGpus) ? refusedGpus : 0;
      const before = this.waiting.get(key);
      this.waiting.set(key, { admitted: poolView.admitted, gpus });
      // A new GPU waiter (or one woken whose GPUs another task took first) asks the pool to look:
      // GPUs may have been freed since its snapshot, and no Pod event may come to say so.
      if (gpus > 0 && pool && !before?.gpus) this.o.queue.add(poolQueueKey(namespace, pool.metadata.name));
    } else this.waiting.delete(key);
    return result;
  }

  /** True when a Pod was created (false when it exists already or is on its way). */
  private async startStage(
    task: CodingTask,
    pool: AgentPool | undefined,
    a: Extract<Action, { type: 'StartStage' }>,
    observed: ObservedStage[],
    podsByName: Map<string, V1Pod>,
    leftovers: Map<string, V1Pod>,
    key: string,
  ): Promise<boolean> {
    if (podsByName.has(a.name) || this.creating.has(key, a.name)) return false;
    // The core starts nothing without a pool; a retry would decide the same.
    if (!pool) throw new TerminalError(`decide() started ${a.name} without a pool`);
    const namespace = task.metadata.namespace!;
    const leftover = leftovers.get(a.name);
    if (leftover) {
      // Its deletion event brings the task back here to create the Pod under this task. Expected
      // gone also when it was going already (the garbage collector's doing), so that its absence
      // then does not read as a lost stage.
      await this.stopStage(namespace, a.name, leftover, key);
      this.deleting.expect(key, a.name);
      this.o.log.info('stage Pod of an earlier task of this name removed', { task: key, pod: a.name });
      return false;
    }
    // The report's name is deterministic, so the Pod is built (and its GPUs counted in flight)
    // before the first await: no other reconcile may see the pool without it.
    const withReport = receivesFailureReport(a.stage.role, a.context);
    const reportConfigMap = withReport ? reportConfigMapName(task.metadata.name, a.stage.iteration) : undefined;
    const pod = buildStagePod({ task, pool, key: a.stage, name: a.name, context: a.context, reportConfigMap });
    this.creating.expect(key, a.name);
    this.inFlight.add(namespace, a.name, pod);
    try {
      // Never a stage Pod without its NetworkPolicies: they are in place before the first Pod.
      await this.ensurePolicies(pool);
      if (withReport) await ensureRepairReport(this.o.api, task, a.stage.iteration, observed, podsByName, key, this.o.logLimitBytes);
      const r = await this.o.api.createPod(namespace, pod, key);
      this.o.log.info('stage started', { task: key, pod: a.name, outcome: r });
      return r === 'created';
    } catch (err) {
      this.creating.observed(key, a.name);
      this.inFlight.seen(namespace, a.name);
      throw err;
    }
  }

  private async stopStage(namespace: string, name: string, pod: V1Pod | undefined, key: string): Promise<void> {
    if (!pod || pod.metadata?.deletionTimestamp || this.deleting.has(key, name)) return;
    this.deleting.expect(key, name);
    const r = await this.o.api.deletePod(namespace, name, key);
    this.o.log.info('stage stopped', { task: key, pod: name, outcome: r });
  }

  /** The pool's NetworkPolicies (netpol/ensure.ts); before its first stage Pod, and on every pool reconcile. */
  ensurePolicies(pool: AgentPool): Promise<void> {
    return this.policies.ensure(pool);
  }

  /** A policy deleted from the cache must be written again even if we wrote it before. */
  policyGone(namespace: string, name: string): void {
    this.policies.gone(namespace, name);
  }

  /** Waits for the Events being posted (stop() does, before the Lease is released). */
  flushEvents(): Promise<void> {
    return this.events.flush();
  }

  private async reconcilePool(namespace: string, name: string): Promise<Result> {
    const key = `${namespace}/${name}`;
    const pool = this.o.caches.pool(namespace, name);
    if (!pool) {
      // Only a pool that was there and is gone changes anything for its tasks (they must now report
      // PoolMissing). Waking them on every reconcile of a pool that never existed made each of
      // their own status writes wake all the others again: O(tasks²) reconciles while they waited.
      if (this.poolSeen.delete(key)) for (const t of this.o.caches.tasksOfPool(namespace, name)) this.o.queue.add(taskQueueKey(namespace, t.metadata.name));
      return DONE;
    }
    await this.ensurePolicies(pool);
    const admission = this.admissionOf(pool);
    // Wake the waiting tasks that can move now: all of them when the pool's spec changed, a queued
    // task the pool now admits, and as many GPU waiters as the free GPUs can serve, in queue order
    // (gpuWakeups), not all of them: every freed GPU used to re-queue every waiting task. Free is
    // what is free now less what waiters woken earlier are about to take; level-based, so a wake-up
    // not given now is given on a later reconcile (every Pod event and phase change brings one, and
    // a waiter woken in vain asks for one). Before the status write, not after it: a freed GPU
    // should not idle for an API round trip that decides nothing.
    const seen = this.poolSeen.get(key);
    const changed = !seen || pool.metadata.generation !== seen.generation;
    this.poolSeen.set(key, { gpusInUse: admission.gpusInUse, activeTasks: admission.activeTasks, generation: pool.metadata.generation });
    const gpuWaiters: GpuWaiter[] = [];
    let promised = 0;
    for (const t of this.o.caches.tasksOfPool(namespace, name)) {
      const tk = `${namespace}/${t.metadata.name}`;
      promised += this.gpuWoken.get(tk) ?? 0;
      const w = this.waiting.get(tk);
      if (!w || !admission.byTask.get(tk)?.admitted) continue;
      if (changed || !w.admitted) this.o.queue.add(taskQueueKey(namespace, t.metadata.name));
      else if (w.gpus > 0 && !this.gpuWoken.has(tk)) gpuWaiters.push({ task: t, gpus: w.gpus });
    }
    for (const tk of gpuWakeups(gpuWaiters, admission.gpuLimit - admission.gpusInUse - promised)) {
      const w = this.waiting.get(tk)!;
      this.gpuWoken.set(tk, w.gpus);
      this.waiting.set(tk, { ...w, gpus: 0 });
      this.o.queue.add(taskQueueKey(namespace, tk.slice(namespace.length + 1)));
    }
    const status = poolStatus(pool, admission, new Date());
    if (!jsonEqual(pool.status ?? {}, status)) {
      const interval = this.o.poolStatusIntervalMs ?? 1000;
      const wait = (this.poolWrittenAt.get(key) ?? 0) + interval - Date.now();
      if (wait > 0) return requeueAfter(wait);
      this.poolWrittenAt.set(key, Date.now());
      await this.o.api.patchPoolStatus(pool, status);
    }
    return DONE;
  }
}

function gpuHourUSD(pool: AgentPool | undefined, fallback = 0): number {
  const v = Number(pool?.metadata.annotations?.[GPU_HOUR_ANNOTATION]);
  return Number.isFinite(v) && v >= 0 && pool?.metadata.annotations?.[GPU_HOUR_ANNOTATION] ? v : fallback;
}

/**
 * Stages status records as started (Pending or Running) that have no Pod now. Status records a
 * stage only after its Pod's create succeeded, and the caches are synced before any reconcile, so
 * with no create in flight the Pod is gone: deleted, or collected after its node was lost. That
 * attempt is over (whether or not status had caught up with it running) and a retry takes the
 * next one; restarting it under its own name could repeat a lost Pod without end.
 */
function lostStages(task: CodingTask, observed: readonly ObservedStage[], waiting: (name: string) => boolean): ObservedStage[] {
  const seen = new Set(observed.map((o) => o.name));
  return (task.status?.stages ?? [])
    .filter((r) => (r.state === 'Pending' || r.state === 'Running') && !seen.has(r.name) && !waiting(r.name))
    .map((r) => ({
      name: r.name,
      iteration: r.iteration,
      role: r.role,
      attempt: r.attempt,
      state: 'Lost',
      failureReason: 'PodGone',
      failureMessage: `the Pod of ${r.name} is gone without a result (deleted, or garbage-collected after its node was lost)`,
    }));
}
