// The stage Pods and report ConfigMaps the operator builds, against a real apiserver: they must
// pass API validation and admission for every role, including Pod Security "restricted" (enforced
// on the namespace, so the run Pod's lockdown is checked by the apiserver, not by our own tests),
// with the CodingTask and AgentPool as the apiserver returns them (defaults applied, real uid).
import * as k8s from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { AgentPool, CodingTask, Role } from '../../../operator/src/api/types.js';
import { stageName } from '../../../operator/src/core/names.js';
import { buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { STAGE_POD_SELECTOR } from '../../../operator/src/controller/pods/labels.js';
import { observeStage } from '../../../operator/src/controller/pods/observe.js';
import { REPORT_KEY, REPORT_MAX_BYTES, buildReportConfigMap } from '../../../operator/src/controller/pods/report.js';
import { createTestNamespace, deleteNamespace, kube, statusCode, uniqueName } from '../../harness/kube.js';

const TIMEOUT = 120_000;
const GROUP = { group: 'autorun.dev', version: 'v1alpha1' };
const ROLES: Role[] = ['code', 'test', 'run', 'repair', 'acceptance'];

let ns: string;
let task: CodingTask;
let pool: AgentPool;

beforeAll(async () => {
  ns = await createTestNamespace('pods');
  const { core, custom } = kube();
  await core.patchNamespace({
    name: ns,
    body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } },
  }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'autorun-agent' } } });
  pool = (await custom.createNamespacedCustomObject({
    ...GROUP,
    namespace: ns,
    plural: 'agentpools',
    body: {
      apiVersion: 'autorun.dev/v1alpha1',
      kind: 'AgentPool',
      metadata: { name: 'default' },
      spec: {
        maxConcurrentTasks: 16,
        gpu: { resource: 'nvidia.com/gpu', limit: 16 },
        nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        serviceAccountName: 'autorun-agent',
        model: { provider: 'anthropic', apiKeySecretRef: { name: 'anthropic' } },
        roles: {
          code: { env: [{ name: 'EXTRA', value: '1' }, { name: 'TOKEN_FROM_SECRET', valueFrom: { secretKeyRef: { name: 'extra', key: 'k' } } }], resources: { requests: { cpu: '500m', memory: '1Gi' } } },
          run: { image: 'python:3.12-slim', gpus: 1, resources: { requests: { cpu: 1, memory: '2Gi' }, limits: { memory: '4Gi' } }, env: [{ name: 'PYTHONHASHSEED', value: '0' }] },
        },
      },
    },
  })) as AgentPool;
  task = (await custom.createNamespacedCustomObject({
    ...GROUP,
    namespace: ns,
    plural: 'codingtasks',
    body: {
      apiVersion: 'autorun.dev/v1alpha1',
      kind: 'CodingTask',
      // The longest name an object may have: its Pods' names and labels are shortened with a hash.
      metadata: { name: `fizzbuzz.${'x'.repeat(121)}.${'y'.repeat(122)}` },
      spec: {
        goal: 'Implement fizzbuzz(n) in fizzbuzz.py; "quotes", newlines\nand unicode ✓ survive the env.',
        repository: { url: 'https://git.example/team/fizzbuzz.git', credentialsSecretRef: { name: 'git' } },
        test: { command: 'pytest -q', acceptance: { configMapRef: { name: 'fizzbuzz-acceptance' } } },
        limits: { maxCostUSD: '5' },
      },
    },
  })) as CodingTask;
}, TIMEOUT);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
}, TIMEOUT);

function podFor(role: Role, iteration = 12, attempt = 9, reportConfigMap?: string): V1Pod {
  const key = { iteration, role, attempt };
  return buildStagePod({
    task,
    pool,
    key,
    name: stageName(task.metadata.name, key),
    context: { codeRef: 'a'.repeat(40), testsRef: 'b'.repeat(40), failing: ['tests/test_fizz.py::test_15'], previousAttempts: ['fixed the modulo'], flaggedTests: [] },
    reportConfigMap,
  });
}

test('the task name is as long as a name may be and the stage names still fit', () => {
  expect(task.metadata.name).toHaveLength(253);
  expect(task.metadata.uid).toBeTruthy();
  expect(podFor('acceptance').metadata!.name!.length).toBeLessThanOrEqual(63);
});

test.each(ROLES)('a %s Pod passes validation and Pod Security restricted (dry run)', async (role) => {
  const created = await kube().core.createNamespacedPod({ namespace: ns, body: podFor(role, 12, 9, role === 'repair' ? 'some-report' : undefined), dryRun: 'All' });
  expect(created.metadata!.name).toBe(stageName(task.metadata.name, { iteration: 12, role, attempt: 9 }));
  expect(created.spec!.containers[0]!.resources?.limits?.['nvidia.com/gpu']).toBe(role === 'run' || role === 'acceptance' ? '1' : undefined);
}, TIMEOUT);

test('the namespace really enforces restricted: the run Pod without its lockdown is refused', async () => {
  const body = podFor('run');
  for (const c of [...body.spec!.initContainers!, ...body.spec!.containers]) delete c.securityContext!.capabilities;
  const err = await kube().core.createNamespacedPod({ namespace: ns, body, dryRun: 'All' }).then(() => undefined, (e: unknown) => e);
  expect(statusCode(err)).toBe(403);
  expect(String((err as Error).message)).toMatch(/restricted/);
}, TIMEOUT);

test('the report ConfigMap at its size bound is accepted, and the repair Pod mounts it', async () => {
  const { core } = kube();
  const huge = JSON.stringify({ failures: Array.from({ length: 64 }, (_, i) => ({ name: `t${i}`, trace: 'é'.repeat(20_000) })) });
  const cm = buildReportConfigMap(task, 3, huge);
  expect(Buffer.byteLength(cm.data![REPORT_KEY]!)).toBeLessThanOrEqual(REPORT_MAX_BYTES);
  const created = await core.createNamespacedConfigMap({ namespace: ns, body: cm });
  expect(created.immutable).toBe(true);
  expect(created.metadata!.ownerReferences![0]!.uid).toBe(task.metadata.uid);
  JSON.parse(created.data![REPORT_KEY]!);
  await core.createNamespacedPod({ namespace: ns, body: podFor('repair', 4, 0, created.metadata!.name), dryRun: 'All' });
}, TIMEOUT);

test('a created Pod is found by the informer selector and observed as Pending', async () => {
  const { core } = kube();
  const body = podFor('run', 1, 0);
  // No node matches the selector here; the Pod stays Pending, which is all this checks.
  body.metadata!.name = uniqueName('stage').slice(0, 63);
  body.metadata!.labels!['autorun.dev/iteration'] = '1';
  await core.createNamespacedPod({ namespace: ns, body });
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector: STAGE_POD_SELECTOR });
  const got = list.items.find((p) => p.metadata!.name === body.metadata!.name)!;
  expect(got).toBeDefined();
  // The typed client turns timestamps into Dates; observe must read them.
  const o = observeStage(got);
  expect(o).toMatchObject({ role: 'run', iteration: 1, attempt: 0, state: 'Pending' });
  expect(typeof o!.startTime).toBe('string');
}, TIMEOUT);

test.each(ROLES)('a %s Pod of a pool that sets no resources is Burstable, with bounded disk', async (role) => {
  const bare = structuredClone(pool);
  bare.spec.roles = {};
  const key = { iteration: 1, role, attempt: 0 };
  const body = buildStagePod({ task, pool: bare, key, name: stageName(task.metadata.name, key), context: { codeRef: 'a'.repeat(40), testsRef: 'b'.repeat(40) } });
  const created = await kube().core.createNamespacedPod({ namespace: ns, body, dryRun: 'All' });
  // The apiserver computes the QoS class on create: BestEffort would mean no container requests anything.
  expect(created.status!.qosClass).toBe('Burstable');
  for (const c of [...(created.spec!.initContainers ?? []), ...created.spec!.containers]) {
    expect([c.name, Object.keys(c.resources!.requests!).filter((k) => k !== 'nvidia.com/gpu').sort()]).toEqual([c.name, ['cpu', 'ephemeral-storage', 'memory']]);
    // workspace 4Gi + tmp 1Gi + the runner's 1Gi (run, acceptance) or the exec container's tmp 1Gi (LLM roles)
    // + 1Gi of logs and layer, as the apiserver canonicalises it
    expect(c.resources!.limits!['ephemeral-storage']).toBe('7Gi');
  }
  for (const v of created.spec!.volumes!.filter((x) => x.emptyDir)) expect([v.name, v.emptyDir!.sizeLimit]).toEqual([v.name, expect.stringMatching(/^[0-9]+(Mi|Gi)$/)]);
}, TIMEOUT);
