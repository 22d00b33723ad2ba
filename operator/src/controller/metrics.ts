// Prometheus metrics, in a registry per controller so that tests can run several in one process.
// The per-task tallies (reconciles, API writes, loop iterations) are kept in memory as well, for
// the integration tests and the benchmark: "API writes per loop iteration" and "reconciles per
// task" are targets of the design.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  readonly informerRestarts: Gauge<'informer' | 'kind'>;
  readonly tallies = new Map<string, TaskTally>();

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'autorun_operator_' });
    this.reconciles = new Counter({ name: 'autorun_reconciles_total', help: 'Reconciles by kind and result.', labelNames: ['kind', 'result'], registers });
    this.transitions = new Counter({ name: 'autorun_task_phase_transitions_total', help: 'Task phase changes written: reconciles per task are judged against these.', registers });
    this.reconcileSeconds = new Histogram({
      name: 'autorun_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.apiWrites = new Counter({ name: 'autorun_api_writes_total', help: 'Writes to the Kubernetes API by verb, resource and HTTP outcome.', labelNames: ['verb', 'resource', 'code'], registers });
    this.queueDepth = new Gauge({ name: 'autorun_workqueue_depth', help: 'Keys waiting in the work queue.', registers });
    this.queueWait = new Histogram({
      name: 'autorun_workqueue_wait_seconds',
      help: 'Time from a key being added to the work queue to a worker taking it (the part of a hand-off spent waiting).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.tasksByPhase = new Gauge({ name: 'autorun_tasks', help: 'CodingTasks in the cache by phase.', labelNames: ['phase'], registers });
    this.isLeader = new Gauge({ name: 'autorun_leader', help: '1 when this replica holds the lease.', registers });
    this.informerRestarts = new Gauge({ name: 'autorun_informer_restarts', help: 'Informer restarts after errors and relists after stalls.', labelNames: ['informer', 'kind'], registers });
  }

  tally(taskKey: string): TaskTally {
    let t = this.tallies.get(taskKey);
    if (!t) {
      t = { reconciles: 0, writes: 0, writesByResource: {}, iterations: 0, transitions: 0 };
      this.tallies.set(taskKey, t);
    }
    return t;
  }

  write(verb: WriteVerb, resource: string, code: number | 'ok', taskKey?: string): void {
    this.apiWrites.inc({ verb, resource, code: String(code) });
    if (taskKey) {
      const t = this.tally(taskKey);
      t.writes++;
      t.writesByResource[resource] = (t.writesByResource[resource] ?? 0) + 1;
    }
  }
}
