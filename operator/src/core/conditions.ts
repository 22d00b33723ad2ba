// Conditions follow the Kubernetes API conventions (meta.SetStatusCondition): one entry per type,
// and lastTransitionTime moves only when the status flips, so watchers can tell how long a task
// has been in a state. Reason and message may change without a transition.
import type { Condition } from '../api/types.js';

export type ConditionType = 'Ready' | 'Progressing' | 'Succeeded' | 'Failed' | 'PoolReady' | 'Schedulable' | 'NeedsInput';

export interface ConditionUpdate {
  type: ConditionType;
  status: Condition['status'];
  reason: string;
  message: string;
}

export function getCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Returns a new list with the condition set; the position of an existing condition is kept. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
  observedGeneration?: number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === update.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime: old && old.status === update.status ? old.lastTransitionTime : now.toISOString(),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (old) list[i] = next;
  else list.push(next);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
