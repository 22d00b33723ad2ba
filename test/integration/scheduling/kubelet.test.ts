// The kubelet stand-in (harness/kubelet.ts) and the rest of the node side: kwok starts Pods and
// never ends them by itself, the helpers end them as a kubelet reports it, deleted Pods on fake
// nodes go away, and the controller manager's garbage collector removes owned Pods.
import type * as k8s from '@kubernetes/client-node';
import { createTestNamespace, deleteNamespace, eventually, kube, statusCode, uniqueName } from '../../harness/kube.js';
import { completePod, evictPod, exceedDeadline, failPod, oomKillPod, TERMINATION_MESSAGE_MAX_BYTES, waitForPod } from '../../harness/kubelet.js';
import { createL4Nodes, deleteNodes, GPU_TOLERATION, isolation } from '../../harness/nodes.js';

// jest applies only the top-level testTimeout, not the integration project's: each block says its own.
const TIMEOUT = 120_000;

const group = uniqueName('kubelet');
let ns: string;
let nodes: string[] = [];

function pod(name: string, extra: Partial<k8s.V1PodSpec> = {}, owner?: k8s.V1OwnerReference): k8s.V1Pod {
  const iso = isolation(group);
  return {
    metadata: { name, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: iso.nodeSelector,
      tolerations: [GPU_TOLERATION, ...iso.tolerations],
      initContainers: [{ name: 'checkout', image: 'ghcr.io/autorun-dev/autorun-agent:0.1.0' }],
      containers: [{ name: 'agent', image: 'ghcr.io/autorun-dev/autorun-agent:0.1.0' }, { name: 'sidecar', image: 'busybox' }],
      ...extra,
    },
  };
}

async function runningPod(name: string, extra: Partial<k8s.V1PodSpec> = {}): Promise<k8s.V1Pod> {
  await kube().core.createNamespacedPod({ namespace: ns, body: pod(name, extra) });
  return waitForPod(ns, name, (p) => p.status?.phase === 'Running');
}

/**
 * kwok has handled every Pod event up to now: a Pod created after them has been started (the
 * condition the tests wait on, instead of a sleep that hopes kwok is done).
 */
async function kwokCaughtUp(after: string): Promise<void> {
  await runningPod(`${after}-later`);
}

const terminated = (p: k8s.V1Pod, container = 'agent') => p.status?.containerStatuses?.find((c) => c.name === container)?.state?.terminated;

beforeAll(async () => {
  ns = await createTestNamespace('kubelet');
  nodes = await createL4Nodes({ count: 2, prefix: group, isolate: true, gpusPerNode: 1 });
}, TIMEOUT);

afterAll(async () => {
  await deleteNamespace(ns);
  await deleteNodes(nodes);
}, TIMEOUT);

test('kwok starts a bound Pod and leaves it Running', async () => {
  const p = await runningPod('stays-running');
  expect(nodes).toContain(p.spec?.nodeName);
  expect(p.status?.containerStatuses?.map((c) => [c.name, !!c.state?.running])).toEqual([['agent', true], ['sidecar', true]]);
  expect(p.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
  await kwokCaughtUp('stays-running');
  expect((await kube().core.readNamespacedPod({ namespace: ns, name: 'stays-running' })).status?.phase).toBe('Running');
}, TIMEOUT);

test('completePod: Succeeded with the termination message', async () => {
  await runningPod('complete');
  const message = JSON.stringify({ role: 'code', outcome: 'Succeeded', commit: 'abc123' });
  const done = await completePod(ns, 'complete', { terminationMessage: message });
  expect(done.status?.phase).toBe('Succeeded');
  expect(terminated(done)).toMatchObject({ exitCode: 0, reason: 'Completed', message });
  expect(terminated(done, 'sidecar')).toMatchObject({ exitCode: 0, reason: 'Completed' });
  expect(done.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  // kwok must not overwrite what the kubelet stand-in reported.
  await kwokCaughtUp('complete');
  const later = await kube().core.readNamespacedPod({ namespace: ns, name: 'complete' });
  expect(later.status?.phase).toBe('Succeeded');
  expect(terminated(later)?.message).toBe(message);
}, TIMEOUT);

test('completePod with a non-zero exit code fails the Pod; messages are cut at 4096 bytes', async () => {
  await runningPod('exit-two');
  const done = await completePod(ns, 'exit-two', { exitCode: 2, terminationMessage: 'é'.repeat(3000) });
  expect(done.status?.phase).toBe('Failed');
  const t = terminated(done)!;
  expect(t).toMatchObject({ exitCode: 2, reason: 'Error' });
  expect(Buffer.byteLength(t.message!, 'utf8')).toBe(TERMINATION_MESSAGE_MAX_BYTES);
}, TIMEOUT);

test('failPod, oomKillPod, evictPod and exceedDeadline report what a kubelet reports', async () => {
  await Promise.all(['crash', 'oom', 'evicted', 'deadline'].map((n) => runningPod(n, n === 'deadline' ? { activeDeadlineSeconds: 60 } : {})));

  const crash = await failPod(ns, 'crash', { exitCode: 3, terminationMessage: 'Traceback: boom' });
  expect(crash.status?.phase).toBe('Failed');
  expect(terminated(crash)).toMatchObject({ exitCode: 3, reason: 'Error', message: 'Traceback: boom' });

  const oom = await oomKillPod(ns, 'oom');
  expect(oom.status?.phase).toBe('Failed');
  expect(terminated(oom)).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });

  const evicted = await evictPod(ns, 'evicted');
  expect(evicted.status).toMatchObject({ phase: 'Failed', reason: 'Evicted' });
  expect(evicted.status?.message).toContain('low on resource');
  expect(evicted.status?.conditions?.find((c) => c.type === 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'TerminationByKubelet' });

  const deadline = await exceedDeadline(ns, 'deadline');
  expect(deadline.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
  expect(terminated(deadline)?.exitCode).toBe(143);
}, TIMEOUT);

test('a deleted Pod on a fake node disappears, as the kubelet would confirm it', async () => {
  await runningPod('deleted');
  await kube().core.deleteNamespacedPod({ namespace: ns, name: 'deleted' });
  await eventually(async () => {
    try {
      await kube().core.readNamespacedPod({ namespace: ns, name: 'deleted' });
      return false;
    } catch (err) {
      return statusCode(err) === 404;
    }
  });
}, TIMEOUT);

test('the garbage collector deletes Pods whose owner is gone', async () => {
  const { core } = kube();
  const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' }, data: {} } });
  const ref: k8s.V1OwnerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
  await core.createNamespacedPod({ namespace: ns, body: pod('owned', {}, ref) });
  await waitForPod(ns, 'owned', (p) => p.status?.phase === 'Running');
  await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
  await eventually(async () => {
    try {
      await core.readNamespacedPod({ namespace: ns, name: 'owned' });
      return false;
    } catch (err) {
      return statusCode(err) === 404;
    }
  }, { timeoutMs: 60_000 });
}, TIMEOUT);
