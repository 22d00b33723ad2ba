// Who may work: the pool's task slots and GPU budget, computed from the informer caches. Pure and
// deterministic; O(n log n) in the pool's tasks (one sort), so a 10,000-task pool costs one pass.
//
// Queue order and slots: contract/admission.ts, the rule the local tier applies too (priority
// first, then first come first served).
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
import { admitSlots, compareQueueOrder, rankOf as rankOfCandidate, type Rank, type SlotAdmission, type SlotCandidate } from '../contract/admission.js';

export type TaskAdmission = SlotAdmission;

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

export function taskKey(task: Pick<CodingTask, 'metadata'>): string {
  return `${task.metadata.namespace ?? ''}/${task.metadata.name}`;
}

/** What admission reads of a task (contract/admission.ts). */
function candidateOf(t: CodingTask, hasLiveStages: boolean): SlotCandidate {
  return {
    key: taskKey(t),
    phase: t.status?.phase,
    priority: t.spec.priority,
    suspend: t.spec.suspend,
    deleting: !!t.metadata.deletionTimestamp,
    generation: t.metadata.generation,
    observedGeneration: t.status?.observedGeneration,
    queuedAt: t.status?.queuedAt,
    createdAt: t.metadata.creationTimestamp,
    hasLiveStages,
  };
}

/** A task's place in line: the same order for a slot (computeAdmission) and for a freed GPU (gpuWakeups). */
function rankOf(t: CodingTask): Rank {
  return rankOfCandidate(candidateOf(t, false));
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

  const slots = admitSlots(tasks.map((t) => candidateOf(t, withLivePods.has(taskKey(t)))), pool.spec.maxConcurrentTasks);
  for (const [k, v] of slots.byTask) byTask.set(k, v);
  const limit = gpuLimit(pool);
  let claimed = 0;

  return {
    byTask,
    activeTasks: slots.activeTasks,
    queuedTasks: slots.queuedTasks,
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
  const ranked = waiters.map((w) => ({ ...rankOf(w.task), gpus: w.gpus })).sort(compareQueueOrder);
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
