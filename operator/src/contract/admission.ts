// Who gets a pool's task slots, in which order: the rule both shells apply to their own view of a
// pool (the operator to its informer caches, the local tier to its task list).
//
// Queue order. Waiting tasks are ranked by spec.priority first (higher first), as the CRD says,
// then first come first served by status.queuedAt (the creation time when never queued), then the
// creation time, then a stable order among equals (the local tier's file order) and the key. Priority
// first is what makes spec.priority useful (queue times rarely tie), at the price that a steady stream
// of high-priority work can hold back low-priority tasks; that is the point of a priority. (The local
// tier used to rank by queue time first, to the second: it disagreed with the cluster and the CRD.)
//
// Slots. A task holds a slot while it is in a working phase (not deleting), or while a stage of it
// still runs: a suspended or finished task whose last stage is running keeps its slot until that
// stage ends. Holders keep their slot even when the pool shrinks.
import type { Phase } from '../api/types.js';
import { isIdlePhase, isTerminalPhase } from './phases.js';

/** What admission reads of one task of the pool. */
export interface SlotCandidate {
  /** Unique within the pool (the operator: namespace/name; the local tier: the name). */
  key: string;
  phase: Phase | undefined;
  priority: number | undefined;
  suspend: boolean | undefined;
  deleting: boolean;
  generation: number | undefined;
  observedGeneration: number | undefined;
  /** status.queuedAt, ISO or Date. */
  queuedAt: string | Date | undefined;
  createdAt: string | Date | undefined;
  /** A stage of the task is live (a Pod not finished, a process running). */
  hasLiveStages: boolean;
  /** Tie-break among equal times (the local tier's position in its files); the key breaks the rest. */
  order?: number;
}

export interface SlotAdmission {
  admitted: boolean;
  /** 1-based place among the waiting tasks; set only for tasks that wait for a slot. */
  queuePosition?: number;
}

export interface Slots {
  byTask: Map<string, SlotAdmission>;
  /** Tasks that hold or have just been given a slot. */
  activeTasks: number;
  /** Tasks waiting for a slot (suspended and finished tasks wait for nothing). */
  queuedTasks: number;
}

export function holdsSlot(c: Pick<SlotCandidate, 'phase' | 'deleting' | 'hasLiveStages'>): boolean {
  return c.hasLiveStages || (!isIdlePhase(c.phase) && !c.deleting);
}

/**
 * Does a task without a slot stand in line for one? A finished, suspended or deleted task waits for
 * nothing (resuming one puts it back in line); a task waiting for a person (NeedsInput) only once its
 * spec changed since (a grant): until then a free slot must go to a task that can use it.
 */
export function standsInLine(c: Omit<SlotCandidate, 'key' | 'priority' | 'queuedAt' | 'createdAt' | 'order' | 'hasLiveStages'>): boolean {
  if (isTerminalPhase(c.phase) || c.suspend || c.deleting) return false;
  const asking = c.phase === 'NeedsInput' && c.observedGeneration !== undefined && c.observedGeneration >= (c.generation ?? 0);
  return !asking;
}

function millis(v: unknown): number {
  const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  // Unknown times sort last: a task the apiserver has not stamped cannot have come first.
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** A task's place in line, as compareQueueOrder reads it. */
export interface Rank {
  key: string;
  priority: number;
  queued: number;
  created: number;
  order: number;
}

export function rankOf(c: Pick<SlotCandidate, 'key' | 'priority' | 'queuedAt' | 'createdAt' | 'order'>): Rank {
  const created = millis(c.createdAt);
  return { key: c.key, priority: c.priority ?? 0, queued: c.queuedAt ? millis(c.queuedAt) : created, created, order: c.order ?? 0 };
}

/** The queue order: for a slot (admitSlots) and, in the operator, for a freed GPU. */
export function compareQueueOrder(a: Rank, b: Rank): number {
  return b.priority - a.priority || a.queued - b.queued || a.created - b.created || a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The pool's slots given out: holders keep theirs, then waiting tasks in queue order while slots are free. */
export function admitSlots(candidates: readonly SlotCandidate[], maxConcurrentTasks: number | undefined): Slots {
  const byTask = new Map<string, SlotAdmission>();
  let holders = 0;
  const waiting: Rank[] = [];
  for (const c of candidates) {
    if (holdsSlot(c)) {
      holders++;
      byTask.set(c.key, { admitted: true });
      continue;
    }
    byTask.set(c.key, { admitted: false });
    if (standsInLine(c)) waiting.push(rankOf(c));
  }
  waiting.sort(compareQueueOrder);
  const free = Math.max(0, (maxConcurrentTasks ?? 4) - holders);
  waiting.forEach((w, i) => byTask.set(w.key, i < free ? { admitted: true } : { admitted: false, queuePosition: i - free + 1 }));
  const admittedNow = Math.min(free, waiting.length);
  return { byTask, activeTasks: holders + admittedNow, queuedTasks: waiting.length - admittedNow };
}
