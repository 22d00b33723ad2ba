// Fake GKE nodes with one NVIDIA L4 each (machine type g2-standard-8), run by kwok: they register
// like a kubelet would (capacity in status), get the GPU taint GKE puts on accelerator pools, and
// kwok turns them Ready and keeps their leases fresh. Pods bound to them reach Running through
// kwok's pod-ready stage and stay Running until a test finishes them with kubelet.ts.
//
//   const nodes = await createL4Nodes({ count: 16, prefix: 'sched' });   // waits until Ready
//   await deleteNodes(nodes);
//
// Tests run in parallel against one cluster. A test that counts GPUs passes `isolate: true`: its
// nodes then carry an extra taint and label only its own Pods tolerate and select
// (isolation(prefix)), so another test's GPU Pods cannot take its GPUs.
import type * as k8s from '@kubernetes/client-node';
import { KWOK_NODE_ANNOTATION, KWOK_NODE_ANNOTATION_VALUE } from './control-plane.js';
import { eventually, kube, statusCode } from './kube.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const L4_SELECTOR = { 'cloud.google.com/gke-accelerator': 'nvidia-l4' } as const;
/** The taint GKE sets on GPU node pools, and the toleration GPU Pods carry. */
export const GPU_TAINT: k8s.V1Taint = { key: GPU_RESOURCE, value: 'present', effect: 'NoSchedule' };
export const GPU_TOLERATION: k8s.V1Toleration = { key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' };
export const ISOLATION_KEY = 'autorun.dev/test-node-group';

export interface L4NodeOptions {
  count: number;
  /** Node names are `${prefix}-l4-${i}`; also the isolation group. */
  prefix: string;
  isolate?: boolean;
  gpusPerNode?: number;
  /** Wait until every node is Ready and schedulable (default true). */
  wait?: boolean;
}

/** nodeSelector and tolerations a Pod needs to land on isolated nodes of `prefix`. */
export function isolation(prefix: string): { nodeSelector: Record<string, string>; tolerations: k8s.V1Toleration[] } {
  return {
    nodeSelector: { [ISOLATION_KEY]: prefix },
    tolerations: [{ key: ISOLATION_KEY, operator: 'Equal', value: prefix, effect: 'NoSchedule' }],
  };
}

export function l4Node(name: string, options: { gpus?: number; labels?: Record<string, string>; taints?: k8s.V1Taint[] } = {}): k8s.V1Node {
  const gpus = String(options.gpus ?? 1);
  const resources = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi', [GPU_RESOURCE]: gpus };
  // Allocatable is what GKE leaves after system reservations on a g2-standard-8.
  const allocatable = { cpu: '7910m', memory: '27Gi', pods: '110', 'ephemeral-storage': '90Gi', [GPU_RESOURCE]: gpus };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: KWOK_NODE_ANNOTATION_VALUE, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'g2-standard-8',
        'cloud.google.com/gke-nodepool': 'l4-pool',
        'cloud.google.com/gke-accelerator': 'nvidia-l4',
        'topology.kubernetes.io/region': 'us-central1',
        'topology.kubernetes.io/zone': 'us-central1-a',
        type: 'kwok',
        ...options.labels,
      },
    },
    spec: { taints: [GPU_TAINT, ...(options.taints ?? [])] },
    status: { capacity: resources, allocatable },
  };
}

function schedulable(node: k8s.V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  // The node lifecycle controller removes these once it has seen the node Ready.
  const blocking = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/')) ?? false;
  return ready && !blocking;
}

export async function createL4Nodes(options: L4NodeOptions): Promise<string[]> {
  const { core } = kube();
  const names = Array.from({ length: options.count }, (_, i) => `${options.prefix}-l4-${i}`);
  const iso = isolation(options.prefix);
  await Promise.all(names.map((name) => core.createNode({
    body: l4Node(name, {
      gpus: options.gpusPerNode ?? 1,
      ...(options.isolate
        ? { labels: iso.nodeSelector, taints: [{ key: ISOLATION_KEY, value: options.prefix, effect: 'NoSchedule' }] }
        : {}),
    }),
  })));
  if (options.wait ?? true) await waitNodesSchedulable(names);
  return names;
}

export async function waitNodesSchedulable(names: string[], timeoutMs = 60_000): Promise<void> {
  const { core } = kube();
  await eventually(async () => {
    const nodes = await Promise.all(names.map((name) => core.readNode({ name })));
    const waiting = nodes.filter((n) => !schedulable(n)).map((n) => n.metadata?.name);
    if (waiting.length) throw new Error(`nodes not yet Ready and untainted: ${waiting.join(', ')}`);
  }, { timeoutMs });
}

export async function deleteNodes(names: string[]): Promise<void> {
  const { core } = kube();
  await Promise.all(names.map(async (name) => {
    try {
      await core.deleteNode({ name });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }));
}
