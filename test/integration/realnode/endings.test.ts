// How stage Pods end on a real kubelet when the stage itself does not decide: the memory limit
// (the kernel's OOM killer, cgroup v1 here) and activeDeadlineSeconds (the kubelet stops the Pod with
// SIGTERM, which the agent handles: exit 143, not 137). The operator's own observer must classify
// both as the kubelet reports them, and the harness's kwok stand-ins (harness/kubelet.ts) must write
// what is seen here.
import { jest } from '@jest/globals';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { AGENT_CONTAINER, buildStagePod, CHECKOUT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageKey } from '../../../operator/src/core/types.js';
import { createTestNamespace, deleteNamespace, kube } from '../../harness/kube.js';
import { onRealNode, realPool, realTask, startGitHost, waitStageDone, type GitHost } from './support.js';

jest.setTimeout(240_000);

let ns: string;
let gitHost: GitHost;
let repoURL: string;

beforeAll(async () => {
  ns = await createTestNamespace('rn-end');
  gitHost = await startGitHost();
  repoURL = gitHost.repo('endings', { 'README.md': '# endings\n' });
});

afterAll(async () => {
  await gitHost?.close();
  if (ns) await deleteNamespace(ns);
});

async function applyRun(task: string, files: Record<string, string>, pool: Parameters<typeof realPool>[0]): Promise<V1Pod> {
  const code = gitHost.push('endings', `refs/autorun/${task}/code`, files);
  const tests = gitHost.push('endings', `refs/autorun/${task}/tests`, { 'test_placeholder.py': 'def test_ok():\n    pass\n' });
  const key: StageKey = { iteration: 1, role: 'run', attempt: 0 };
  const pod = buildStagePod({ task: realTask(ns, task, repoURL), pool: realPool(pool), key, name: stageName(task, key), context: { codeRef: code, testsRef: tests } });
  pod.metadata!.ownerReferences = [];
  await kube().core.createNamespacedPod({ namespace: ns, body: pod });
  return pod;
}

const terminatedOf = (pod: V1Pod): V1ContainerStatus | undefined =>
  [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((c) => c.state?.terminated && c.state.terminated.exitCode !== 0);

test('over the memory limit: the kernel kills the container, reason OOMKilled, exit 137, the observer says OOMKilled', async () => {
  // The role's command replaces the agent: the container's own process is the one over the limit.
  const pod = await applyRun('oom', { 'hog.py': 'x = bytearray(512 << 20)\nprint(len(x))\n' }, {
    namespace: ns,
    runLimits: { memory: '64Mi' },
    runCommand: ['python3', '/workspace/hog.py'],
  });
  const { pod: done, observed } = await waitStageDone(ns, pod.metadata!.name!);
  expect(onRealNode(done)).toBe(true);
  expect(done.status?.phase).toBe('Failed');
  expect(observed).toMatchObject({ state: 'Finished', failureReason: 'OOMKilled' });
  expect(terminatedOf(done)?.state?.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
});

test('past activeDeadlineSeconds: Pod reason DeadlineExceeded, the agent exits 143 on SIGTERM, the observer says DeadlineExceeded', async () => {
  const name = stageName('deadline', { iteration: 1, role: 'run', attempt: 0 });
  await applyRun('deadline', { 'test_slow.py': 'import time\n\ndef test_slow():\n    time.sleep(600)\n' }, { namespace: ns, runTimeoutSeconds: 8 });
  const { pod: done, observed } = await waitStageDone(ns, name);
  expect(onRealNode(done)).toBe(true);
  expect(done.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
  expect(observed).toMatchObject({ state: 'Finished', failureReason: 'DeadlineExceeded' });
  const killed = terminatedOf(done);
  expect([AGENT_CONTAINER, CHECKOUT_CONTAINER]).toContain(killed?.name);
  expect(killed?.state?.terminated?.exitCode).toBe(143);
});
