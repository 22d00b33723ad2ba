// Prometheus metrics, in a registry per controller so that tests can run several in one process.
// The README's "Metrics" table lists every series exported here, with its labels and meaning.
// The per-task tallies (reconciles, API writes, loop iterations) are kept in memory as well, for
// the integration tests and the benchmark: "API writes per loop iteration" and "reconciles per
// task" are targets of the design.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentPool, CodingTaskStatus } from '../api/types.js';
import { statusDelta } from './task-metrics.js';

export type WriteVerb = 'create' | 'update' | 'patch' | 'delete';

export interface TaskTally {
  reconciles: number;
  writes: number;
  writesByResource: Record<string, number>;
  /** Highest status.iteration seen. */
  iterations: number;
  /** Phase changes written, a stand-in for the loop's transitions. */
  transitions: number;
}

/** client-go's value for a request that got no HTTP response (rest_client_requests_total). */
export const NO_RESPONSE = '<error>';

const POOL = ['namespace', 'pool'] as const;
const GAUGES_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];
type PoolLabel = (typeof POOL)[number];

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'kind' | 'result'>;
  readonly transitions: Counter;
  readonly reconcileSeconds: Histogram<'kind'>;
  readonly apiWrites: Counter<'verb' | 'resource' | 'code'>;
  readonly queueDepth: Gauge;
  readonly queueWait: Histogram;
  readonly tasksByPhase: Gauge<'phase'>;
  readonly isLeader: Gauge;
  readonly informerRestarts: Counter<'informer' | 'kind'>;
  readonly tasksFinished: Counter<PoolLabel | 'phase' | 'reason'>;
  readonly taskIterations: Histogram<PoolLabel>;
  readonly taskCost: Histogram<PoolLabel | 'phase'>;
  readonly taskQueueWait: Histogram<PoolLabel>;
  readonly stagesFinished: Counter<PoolLabel | 'role' | 'state' | 'reason'>;
  readonly stageSeconds: Histogram<PoolLabel | 'role' | 'state'>;
  readonly stageRetries: Counter<PoolLabel | 'role' | 'reason'>;
  readonly modelCost: Counter<PoolLabel | 'role'>;
  readonly gpuSeconds: Counter<PoolLabel | 'role'>;
  readonly poolGpusInUse: Gauge<PoolLabel>;
  readonly poolGpuLimit: Gauge<PoolLabel>;
  readonly poolTasks: Gauge<PoolLabel | 'state'>;
  readonly tallies = new Map<string, TaskTally>();
  /** Informer counts already added to informerRestarts, by informer and kind. */
  private readonly informerSeen = new Map<string, number>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // No prefix: the standard process_* and nodejs_* names that stock dashboards and alerts expect.
    if (opts.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges that prom-client names like counters (promtool: "non-counter metrics should not have
      // _total suffix"); the same counts by type stay, as nodejs_active_{handles,requests,resources}.
      for (const n of GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(n);
    }
    this.reconciles = new Counter({ name: 'autorun_reconciles_total', help: 'Reconciles by kind and result.', labelNames: ['kind', 'result'], registers });
    this.transitions = new Counter({ name: 'autorun_task_phase_transitions_total', help: 'Task phase changes written: reconciles per task are judged against these.', registers });
    this.reconcileSeconds = new Histogram({
      name: 'autorun_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.apiWrites = new Counter({
      name: 'autorun_api_writes_total',
      help: `Writes to the Kubernetes API by verb, resource and the HTTP status the apiserver answered (${NO_RESPONSE}: no response).`,
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.queueDepth = new Gauge({ name: 'autorun_workqueue_depth', help: 'Keys waiting in the work queue.', registers });
    this.queueWait = new Histogram({
      name: 'autorun_workqueue_wait_seconds',
      help: 'Time from a key being added to the work queue to a worker taking it (the part of a hand-off spent waiting).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.tasksByPhase = new Gauge({ name: 'autorun_tasks', help: 'CodingTasks in the cache by phase.', labelNames: ['phase'], registers });
    this.isLeader = new Gauge({ name: 'autorun_leader', help: '1 when this replica holds the lease.', registers });
    this.informerRestarts = new Counter({
      name: 'autorun_informer_restarts_total',
      help: 'Informer restarts after watch errors (kind="error") and relists after silent stalls (kind="relist").',
      labelNames: ['informer', 'kind'],
      registers,
    });
    this.tasksFinished = new Counter({
      name: 'autorun_tasks_finished_total',
      help: 'CodingTasks that reached Succeeded or Failed, by pool, phase and reason.',
      labelNames: [...POOL, 'phase', 'reason'],
      registers,
    });
    this.taskIterations = new Histogram({
      name: 'autorun_task_iterations',
      help: 'Loop iterations a task took to succeed (iterations to green).',
      labelNames: [...POOL],
      buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20],
      registers,
    });
    this.taskCost = new Histogram({
      name: 'autorun_task_cost_usd',
      help: 'Total cost (models plus GPU time) of a finished task in US dollars, by pool and phase.',
      labelNames: [...POOL, 'phase'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50],
      registers,
    });
    this.taskQueueWait = new Histogram({
      name: 'autorun_task_queue_wait_seconds',
      help: "Time from a task entering its pool's queue (or being created) to its first stage.",
      labelNames: [...POOL],
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.stagesFinished = new Counter({
      name: 'autorun_stages_finished_total',
      help: 'Stages (agent Pods) that ended, by pool, role, state (Succeeded, Failed, Error) and reason.',
      labelNames: [...POOL, 'role', 'state', 'reason'],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'autorun_stage_duration_seconds',
      help: 'Time from a stage being created to its result, by pool, role and state.',
      labelNames: [...POOL, 'role', 'state'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    });
    this.stageRetries = new Counter({
      name: 'autorun_stage_retries_total',
      help: 'Stage attempts after the first (an infrastructure or model failure retried), by pool, role and the reason the attempt before ended.',
      labelNames: [...POOL, 'role', 'reason'],
      registers,
    });
    this.modelCost = new Counter({
      name: 'autorun_model_cost_usd_total',
      help: 'Model usage of finished stages in US dollars, by pool and role.',
      labelNames: [...POOL, 'role'],
      registers,
    });
    this.gpuSeconds = new Counter({
      name: 'autorun_gpu_seconds_total',
      help: 'GPU-seconds held by finished stages, by pool and role.',
      labelNames: [...POOL, 'role'],
      registers,
    });
    this.poolGpusInUse = new Gauge({ name: 'autorun_pool_gpus_in_use', help: "GPUs the pool's Pods hold (the pool's status).", labelNames: [...POOL], registers });
    this.poolGpuLimit = new Gauge({ name: 'autorun_pool_gpu_limit', help: 'spec.gpu.limit of the pool; absent when the pool sets none.', labelNames: [...POOL], registers });
    this.poolTasks = new Gauge({ name: 'autorun_pool_tasks', help: "The pool's tasks holding a slot (state=active) and waiting for one (state=queued).", labelNames: [...POOL, 'state'], registers });
    for (const informer of ['codingtasks', 'agentpools', 'pods']) for (const kind of ['error', 'relist']) this.informerRestarts.inc({ informer, kind }, 0);
  }

  tally(taskKey: string): TaskTally {
    let t = this.tallies.get(taskKey);
    if (!t) {
      t = { reconciles: 0, writes: 0, writesByResource: {}, iterations: 0, transitions: 0 };
      this.tallies.set(taskKey, t);
    }
    return t;
  }

  /** One write and the HTTP status it got; undefined when no response came back. */
  write(verb: WriteVerb, resource: string, code: number | undefined, taskKey?: string): void {
    this.apiWrites.inc({ verb, resource, code: code === undefined ? NO_RESPONSE : String(code) });
    if (taskKey) {
      const t = this.tally(taskKey);
      t.writes++;
      t.writesByResource[resource] = (t.writesByResource[resource] ?? 0) + 1;
    }
  }

  /** Adds what an informer counted since the last call (its counts only rise). */
  informerCounts(informer: string, restarts: number, relists: number): void {
    for (const [kind, n] of [['error', restarts], ['relist', relists]] as const) {
      const k = `${informer}/${kind}`;
      const seen = this.informerSeen.get(k) ?? 0;
      if (n > seen) this.informerRestarts.inc({ informer, kind }, n - seen);
      this.informerSeen.set(k, Math.max(n, seen));
    }
  }

  /** A task's status was written: counts the stages, retries, queue wait and finish it records. */
  statusWritten(namespace: string, pool: string, createdAt: string | undefined, before: CodingTaskStatus, after: CodingTaskStatus): void {
    const d = statusDelta(before, after, createdAt);
    const p = { namespace, pool };
    for (const s of d.stagesFinished) {
      this.stagesFinished.inc({ ...p, role: s.role, state: s.state, reason: s.reason });
      if (s.seconds !== undefined) this.stageSeconds.observe({ ...p, role: s.role, state: s.state }, s.seconds);
      if (s.costUSD > 0) this.modelCost.inc({ ...p, role: s.role }, s.costUSD);
      if (s.gpuSeconds > 0) this.gpuSeconds.inc({ ...p, role: s.role }, s.gpuSeconds);
    }
    for (const r of d.stagesRetried) this.stageRetries.inc({ ...p, role: r.role, reason: r.reason });
    if (d.queueWaitSeconds !== undefined) this.taskQueueWait.observe(p, d.queueWaitSeconds);
    if (d.finished) {
      this.tasksFinished.inc({ ...p, phase: d.finished.phase, reason: d.finished.reason });
      this.taskCost.observe({ ...p, phase: d.finished.phase }, d.finished.costUSD);
      if (d.finished.phase === 'Succeeded') this.taskIterations.observe(p, d.finished.iterations);
    }
  }

  /** The pools' standing from their status, set afresh on every scrape. */
  pools(pools: readonly AgentPool[]): void {
    this.poolGpusInUse.reset();
    this.poolGpuLimit.reset();
    this.poolTasks.reset();
    for (const pool of pools) {
      const p = { namespace: pool.metadata.namespace ?? '', pool: pool.metadata.name };
      this.poolGpusInUse.set(p, pool.status?.gpusInUse ?? 0);
      if (pool.spec.gpu?.limit !== undefined) this.poolGpuLimit.set(p, pool.spec.gpu.limit);
      this.poolTasks.set({ ...p, state: 'active' }, pool.status?.activeTasks ?? 0);
      this.poolTasks.set({ ...p, state: 'queued' }, pool.status?.queuedTasks ?? 0);
    }
  }
}
