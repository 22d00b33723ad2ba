// Everything the operator creates for a task is owned by it, so deleting the task deletes its Pods
// and ConfigMaps through the garbage collector, and the Pod informer maps events back to the task.
import type { V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION } from '../../api/types.js';
import type { CodingTask } from '../../api/types.js';

export function ownerReference(task: CodingTask): V1OwnerReference {
  const uid = task.metadata.uid;
  // Without the uid the garbage collector would delete the object at once: refuse to build it.
  if (!uid) throw new Error(`CodingTask ${task.metadata.namespace ?? ''}/${task.metadata.name} has no metadata.uid`);
  return { apiVersion: API_VERSION, kind: 'CodingTask', name: task.metadata.name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * True when the task with this uid controls `obj`. A Pod or ConfigMap of the same name left by an
 * earlier task (deleted and applied again before the garbage collector ran, or deleted with
 * --cascade=orphan) is not this task's: its results must not count as this task's work.
 */
export function isControlledBy(obj: { metadata?: { ownerReferences?: V1OwnerReference[] } }, uid: string | undefined): boolean {
  return !!uid && (obj.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}
