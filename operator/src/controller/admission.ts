// Who may work: the pool's task slots and GPU budget, computed from the informer caches. Pure and
// deterministic; O(n log n) in the pool's tasks (one sort), so a 10,000-task pool costs one pass.
//
// Slots. A task holds a slot once admitted: its phase is one of the working phases (Coding, Running,
// Repairing, Accepting), or it still has live Pods (a suspended or finished task whose last stage is
// still running keeps its slot until that Pod ends). Holders keep their slot even if the pool shrinks.
//
// Queue order. Waiting tasks are ranked by priority first (higher first), then first come first
// served by status.queuedAt (creationTimestamp when never queued), then creationTimestamp, then
// namespace/name so equal times still give one order. Priority first is what makes spec.priority
// useful (queue times rarely tie), at the price that a steady stream of high-priority work can hold
// back low-priority tasks; that is the point of a priority.
//
// GPUs. gpusInUse sums the GPU requests of the pool's live Pods (not Succeeded or Failed, including
// Pods being deleted, which hold their devices until they end), whether or not their task still exists.
// The snapshot does not know about Pods created after it: a caller that starts several GPU stages
// from one snapshot must add the Pods it created to `pods` (or recompute) between starts.
import type { V1Pod } from '@kubernetes/client-node';
import type { AgentPool, AgentPoolStatus, CodingTask, Role } from '../api/types.js';
import { gpuLimit, gpuResource, roleSettings } from '../api/pool-roles.js';
import { isLivePod, podGpus } from './pods/gpus.js';
import { POOL_LABEL, TASK_LABEL, labelValue } from './pods/labels.js';

export interface TaskAdmission {
  admitted: boolean;
  /** 1-based place among the waiting tasks; set only for tasks that wait for a slot. */
  queuePosition?: number;
}

export interface Admission {
  /** Keyed by taskKey(task): "namespace/name". */
  byTask: Map<string, TaskAdmission>;
  /** Tasks that hold or have just been given a slot. */
  activeTasks: number;
  /** Tasks waiting for a slot (suspended and finished tasks wait for nothing). */
  queuedTasks: number;
  gpusInUse: number;
  gpuLimit: number;
  /** Would one more stage of this role fit in the pool's GPU limit now? False for tasks not admitted. */
  gpuAvailable(role: Role, task?: CodingTask | string): boolean;
  /**
   * gpuAvailable, and if so the stage's GPUs are counted as held for the rest of this snapshot:
   * one reconcile may start several stages, and two must not both take the pool's last GPU.
   */
  claimGpus(role: Role, task: CodingTask | string): boolean;
}

/** Phases in which a task does not work; in every other phase it holds a slot. */
const IDLE_PHASES = new Set(['Pending', 'Queued', 'Suspended', 'NeedsInput', 'Succeeded', 'Failed']);
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

export function taskKey(task: Pick<CodingTask, 'metadata'>): string {
  return `${task.metadata.namespace ?? ''}/${task.metadata.name}`;
}

function millis(v: unknown): number {
  const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  // Unknown times sort last: a task the apiserver has not stamped cannot have come first.
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

interface Ranked {
  key: string;
  priority: number;
  queued: number;
  created: number;
}

/** A task's place in line: the same order for a slot (computeAdmission) and for a freed GPU (gpuWakeups). */
function rankOf(t: CodingTask): Ranked {
  const created = millis(t.metadata.creationTimestamp);
  const queuedAt = t.status?.queuedAt;
  return { key: taskKey(t), priority: t.spec.priority ?? 0, queued: queuedAt ? millis(queuedAt) : created, created };
}

function compareRank(a: Ranked, b: Ranked): number {
  return b.priority - a.priority || a.queued - b.queued || a.created - b.created || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The key of the Pod's task as taskKey() gives it, through the task label (see labelValue). */
function labelKey(namespace: string | undefined, label: string): string {
  return `${namespace ?? ''}/${label}`;
}

/** Does the pod belong to this pool: its pool label, or (for Pods without one) one of its tasks (by labelKey). */
function podsOfPool(pool: AgentPool, tasks: Map<string, string>, pods: V1Pod[]): V1Pod[] {
  const ns = pool.metadata.namespace;
  const label = labelValue(pool.metadata.name);
  return pods.filter((p) => {
    if (p.metadata?.namespace !== ns) return false;
    const own = p.metadata?.labels?.[POOL_LABEL];
    if (own !== undefined) return own === label;
    const task = p.metadata?.labels?.[TASK_LABEL];
    return task !== undefined && tasks.has(labelKey(ns, task));
  });
}

/** The tasks that name this pool (spec.pool defaults to "default", as in the CRD). */
export function tasksOfPool(pool: Pick<AgentPool, 'metadata'>, tasks: CodingTask[]): CodingTask[] {
  return tasks.filter((t) => t.metadata.namespace === pool.metadata.namespace && (t.spec.pool ?? 'default') === pool.metadata.name);
}

export function computeAdmission(pool: AgentPool | undefined, allTasks: CodingTask[], pods: V1Pod[]): Admission {
  const byTask = new Map<string, TaskAdmission>();
  if (!pool) {
    // Without a pool nothing starts; the tasks wait with condition PoolMissing, not in a queue.
    for (const t of allTasks) byTask.set(taskKey(t), { admitted: false });
    return { byTask, activeTasks: 0, queuedTasks: 0, gpusInUse: 0, gpuLimit: 0, gpuAvailable: () => false, claimGpus: () => false };
  }
  const tasks = tasksOfPool(pool, allTasks);
  // Task label keys → task keys: the label is the name unless that is longer than a label may be.
  const byLabel = new Map(tasks.map((t) => [labelKey(t.metadata.namespace, labelValue(t.metadata.name)), taskKey(t)]));
  const poolPods = podsOfPool(pool, byLabel, pods);
  const resource = gpuResource(pool);

  const withLivePods = new Set<string>();
  let gpusInUse = 0;
  for (const p of poolPods) {
    if (!isLivePod(p)) continue;
    gpusInUse += podGpus(p, resource);
    const task = p.metadata?.labels?.[TASK_LABEL];
    const owner = task === undefined ? undefined : byLabel.get(labelKey(p.metadata?.namespace, task));
    if (owner !== undefined) withLivePods.add(owner);
  }

  let holders = 0;
  const waiting: Ranked[] = [];
  for (const t of tasks) {
    const key = taskKey(t);
    const phase = t.status?.phase ?? 'Pending';
    if (withLivePods.has(key) || (!IDLE_PHASES.has(phase) && !t.metadata.deletionTimestamp)) {
      holders++;
      byTask.set(key, { admitted: true });
      continue;
    }
    byTask.set(key, { admitted: false });
    // A finished, suspended or deleted task waits for nothing (resuming one puts it back in line).
    if (TERMINAL_PHASES.has(phase) || t.spec.suspend || t.metadata.deletionTimestamp) continue;
    // A task waiting for a person (NeedsInput) stands in line only once its spec changed since (a
    // grant): until then a free slot must go to a task that can use it.
    if (phase === 'NeedsInput' && t.status?.observedGeneration !== undefined && t.status.observedGeneration >= (t.metadata.generation ?? 0)) continue;
    waiting.push(rankOf(t));
  }

  waiting.sort(compareRank);
  const free = Math.max(0, (pool.spec.maxConcurrentTasks ?? 4) - holders);
  waiting.forEach((w, i) => {
    byTask.set(w.key, i < free ? { admitted: true } : { admitted: false, queuePosition: i - free + 1 });
  });
  const admittedNow = Math.min(free, waiting.length);
  const limit = gpuLimit(pool);
  let claimed = 0;

  return {
    byTask,
    activeTasks: holders + admittedNow,
    queuedTasks: waiting.length - admittedNow,
    gpusInUse,
    gpuLimit: limit,
    gpuAvailable(role: Role, task?: CodingTask | string): boolean {
      if (task !== undefined && !byTask.get(typeof task === 'string' ? task : taskKey(task))?.admitted) return false;
      const need = roleSettings(pool, role).gpus;
      return need === 0 || gpusInUse + claimed + need <= limit;
    },
    claimGpus(role: Role, task: CodingTask | string): boolean {
      if (!this.gpuAvailable(role, task)) return false;
      claimed += roleSettings(pool, role).gpus;
      return true;
    },
  };
}

type PoolCondition = NonNullable<AgentPoolStatus['conditions']>[number];

/** Why the pool cannot do its work, if it cannot: a GPU role that can never fit in the limit. */
function readiness(pool: AgentPool): Omit<PoolCondition, 'lastTransitionTime'> {
  const limit = gpuLimit(pool);
  const tooBig = (['code', 'test', 'repair', 'run'] as const)
    .map((r) => ({ role: r, gpus: roleSettings(pool, r).gpus }))
    .filter((r) => r.gpus > limit);
  if (tooBig.length) {
    const roles = tooBig.map((r) => `${r.role} needs ${r.gpus}`).join(', ');
    return { type: 'Ready', status: 'False', reason: 'GPULimitTooLow', message: `spec.gpu.limit is ${limit} GPUs but ${roles} per stage; those stages cannot start until the limit is raised` };
  }
  return { type: 'Ready', status: 'True', reason: 'Ready', message: 'The pool accepts tasks' };
}

/**
 * The pool's status. The Ready condition keeps its lastTransitionTime while its status is
 * unchanged, so an unchanged pool yields an identical status and the shell writes nothing.
 */
export function poolStatus(pool: AgentPool, admission: Admission, now: Date): AgentPoolStatus {
  const generation = pool.metadata.generation;
  const ready = readiness(pool);
  const previous = pool.status?.conditions?.find((c) => c.type === 'Ready');
  const condition: PoolCondition = {
    ...ready,
    lastTransitionTime: previous && previous.status === ready.status ? previous.lastTransitionTime : now.toISOString(),
  };
  if (generation !== undefined) condition.observedGeneration = generation;
  const status: AgentPoolStatus = {
    activeTasks: admission.activeTasks,
    queuedTasks: admission.queuedTasks,
    gpusInUse: admission.gpusInUse,
    conditions: [...(pool.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), condition],
  };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** An admitted task whose last reconcile could start nothing for want of GPUs. */
export interface GpuWaiter {
  task: CodingTask;
  /** The fewest GPUs that would let it start a stage (what its refused stages asked for). */
  gpus: number;
}

/**
 * The GPU waiters that `free` GPUs can serve, best first in queue order (priority, then first come
 * first served, as for slots), each taking its GPUs from what is left: a freed GPU wakes one waiter,
 * not all of them (which cost every waiting task a reconcile per freed GPU). A waiter needing more
 * than is left is passed over for one needing less behind it, so no GPU idles while a waiter fits;
 * the big one is woken when enough is free. Level-based: the caller asks on every pool reconcile
 * with what is free now, so a waiter that is not woken this time is on a later one.
 */
export function gpuWakeups(waiters: readonly GpuWaiter[], free: number): string[] {
  const ranked = waiters.map((w) => ({ ...rankOf(w.task), gpus: w.gpus })).sort(compareRank);
  const out: string[] = [];
  let left = free;
  for (const w of ranked) {
    if (w.gpus <= 0 || w.gpus > left) continue;
    out.push(w.key);
    left -= w.gpus;
    if (left <= 0) break;
  }
  return out;
}
