// Labels and annotations on the objects the operator creates for a task. The informer selects stage
// Pods by TASK_LABEL, and the operator's NetworkPolicies (netpol/build.ts) select by ROLE_LABEL and POOL_LABEL, so these
// names are part of the operator's contract with the cluster.
import { createHash } from 'node:crypto';

export const TASK_LABEL = 'autorun.dev/task';
export const ROLE_LABEL = 'autorun.dev/role';
export const ITERATION_LABEL = 'autorun.dev/iteration';
export const ATTEMPT_LABEL = 'autorun.dev/attempt';
/** Lets the pool count GPUs of Pods whose task is already gone (they hold GPUs until they end). */
export const POOL_LABEL = 'autorun.dev/pool';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'autorun';

/** Existence selector for the Pod informer: every stage Pod carries the task label. */
export const STAGE_POD_SELECTOR = TASK_LABEL;

/** Extended resource the Pod's GPUs were requested as; observe reads it to compute GPU-seconds. */
export const GPU_RESOURCE_ANNOTATION = 'autorun.dev/gpu-resource';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * A valid label value for any name: names the CRDs already bound to 63 characters pass unchanged;
 * longer or odd ones are cut and suffixed with a hash so that distinct names stay distinct.
 */
export function labelValue(name: string): string {
  if (name.length <= 63 && LABEL_VALUE.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const head = name
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .slice(0, 52)
    .replace(/^[^A-Za-z0-9]+/, '');
  return head ? `${head}-${hash}` : hash;
}
