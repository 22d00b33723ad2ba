// What the operator keeps of a stage Pod in its cache. A stage Pod's spec is large (env with the
// task context, volumes, probes, security contexts) and the operator reads almost none of it back:
// it decides from labels, owner, status and termination messages (observe.ts), counts GPUs from the
// containers' resources (gpus.ts) and names the first container when it reads the run log. With
// thousands of finished tasks' Pods in the cache, the rest is most of the operator's memory.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

function containerStub(c: V1Container): V1Container {
  return { name: c.name, ...(c.resources ? { resources: c.resources } : {}) };
}

/** Trims a Pod in place to metadata, status and the containers' names and resources. */
export function trimPodForCache(pod: V1Pod): void {
  const spec = pod.spec;
  if (!spec) return;
  pod.spec = {
    containers: (spec.containers ?? []).map(containerStub),
    ...(spec.initContainers ? { initContainers: spec.initContainers.map(containerStub) } : {}),
    ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
  };
}
