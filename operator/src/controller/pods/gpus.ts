// GPUs a Pod holds, computed the way the scheduler does: the larger of the containers' sum and the
// largest init container, with a limit standing in for a missing request (extended resources must
// have requests equal to limits, and the apiserver defaults one from the other).
import type { V1Container, V1Pod } from '@kubernetes/client-node';

function containerGpus(c: V1Container, resource: string): number {
  const q = c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource];
  const n = Number(q);
  // GPUs are whole devices: a quantity such as "1" or 1; anything else is not a GPU count.
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function podGpus(pod: V1Pod, resource: string): number {
  const spec = pod.spec;
  if (!spec) return 0;
  const main = (spec.containers ?? []).reduce((sum, c) => sum + containerGpus(c, resource), 0);
  const init = (spec.initContainers ?? []).reduce((max, c) => Math.max(max, containerGpus(c, resource)), 0);
  return Math.max(main, init);
}

/** Terminal Pods have given their devices back; every other Pod (even one being deleted) holds them. */
export function isLivePod(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}
