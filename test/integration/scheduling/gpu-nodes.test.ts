// The GKE L4 shape the operator relies on, checked against the real kube-scheduler: 16 nodes with
// one nvidia.com/gpu each take exactly 16 one-GPU Pods, which kwok runs; the 17th stays Pending as
// Unschedulable. The nodes are isolated (own taint and label) so other test files' GPU Pods cannot
// take their GPUs while this runs.
import type * as k8s from '@kubernetes/client-node';
import { clusterInfo, createTestNamespace, deleteNamespace, eventually, kube, uniqueName } from '../../harness/kube.js';
import { createL4Nodes, deleteNodes, GPU_RESOURCE, GPU_TOLERATION, isolation, L4_SELECTOR } from '../../harness/nodes.js';

// jest applies only the top-level testTimeout, not the integration project's: each block says its own.
const TIMEOUT = 120_000;

const NODES = 16;
const group = uniqueName('sched');
let ns: string;
let nodes: string[] = [];

function gpuPod(name: string): k8s.V1Pod {
  const iso = isolation(group);
  return {
    metadata: { name, labels: { app: 'gpu-test' } },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { ...L4_SELECTOR, ...iso.nodeSelector },
      tolerations: [GPU_TOLERATION, ...iso.tolerations],
      containers: [{ name: 'run', image: 'python:3.12-slim', resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { [GPU_RESOURCE]: '1', memory: '4Gi' } } }],
    },
  };
}

beforeAll(async () => {
  ns = await createTestNamespace('gpu');
  nodes = await createL4Nodes({ count: NODES, prefix: group, isolate: true });
}, TIMEOUT);

afterAll(async () => {
  await deleteNamespace(ns);
  await deleteNodes(nodes);
}, TIMEOUT);

test('16 one-GPU Pods are bound to 16 L4 nodes and Running; the 17th is Unschedulable', async () => {
  const { core } = kube();
  const names = Array.from({ length: NODES }, (_, i) => `gpu-${i}`);
  await Promise.all(names.map((name) => core.createNamespacedPod({ namespace: ns, body: gpuPod(name) })));

  const running = await eventually(async () => {
    const pods = (await core.listNamespacedPod({ namespace: ns })).items;
    const notYet = pods.filter((p) => p.status?.phase !== 'Running');
    if (pods.length !== NODES || notYet.length) throw new Error(`${notYet.length} of ${pods.length} Pods not Running yet`);
    return pods;
  }, { timeoutMs: 60_000 });
  // One GPU per node: every Pod on a different node, all of them ours.
  const boundTo = running.map((p) => p.spec?.nodeName).sort();
  expect(boundTo).toEqual([...nodes].sort());
  for (const p of running) {
    expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    expect(p.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
  }

  await core.createNamespacedPod({ namespace: ns, body: gpuPod('gpu-16') });
  const pending = await eventually(async () => {
    const p = await core.readNamespacedPod({ namespace: ns, name: 'gpu-16' });
    const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status !== 'False') throw new Error('the scheduler has not tried gpu-16 yet');
    return { pod: p, scheduled };
  });
  expect(pending.pod.status?.phase).toBe('Pending');
  expect(pending.pod.spec?.nodeName).toBeUndefined();
  expect(pending.scheduled.reason).toBe('Unschedulable');
  expect(pending.scheduled.message).toContain(`Insufficient ${GPU_RESOURCE}`);
}, TIMEOUT);

test('without the GPU toleration a GPU Pod cannot use the L4 nodes', async () => {
  const { core } = kube();
  const pod = gpuPod('untolerated');
  pod.spec!.tolerations = isolation(group).tolerations;
  await core.createNamespacedPod({ namespace: ns, body: pod });
  const scheduled = await eventually(async () => {
    const p = await core.readNamespacedPod({ namespace: ns, name: 'untolerated' });
    const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
    if (c?.status !== 'False') throw new Error('not tried yet');
    return c;
  });
  expect(scheduled.reason).toBe('Unschedulable');
  // The isolation taint is tolerated and the nodes are Ready, so the GPU taint is the one left (the
  // real node's own taint keeps it out too).
  const realNodes = clusterInfo().realNode ? 1 : 0;
  expect(scheduled.message).toContain(`${NODES + realNodes} node(s) had untolerated taint`);
}, TIMEOUT);
