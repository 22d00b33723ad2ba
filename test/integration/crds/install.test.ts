// The CRDs as a user meets them: installed by the global setup (kubectl apply of crds/), then used
// through the real kubectl of the cluster's version and through client-node.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, deleteNamespace, eventually, kube } from '../../harness/kube.js';
import { kubectl, kubectlOk } from '../../harness/kubectl.js';
import { repoRoot } from '../../harness/tools.js';

// jest applies only the top-level testTimeout, not the integration project's: each block says its own.
const TIMEOUT = 120_000;

const examples = join(repoRoot(), 'manifests', 'examples');
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** `kubectl get` table output as rows of cells (columns are separated by 3+ spaces or 2 at least). */
function table(out: string): string[][] {
  return out.trimEnd().split('\n').map((line) => line.trim().split(/\s{2,}/));
}

let ns: string;

beforeAll(async () => {
  ns = await createTestNamespace('crds');
}, TIMEOUT);

afterAll(async () => {
  await deleteNamespace(ns);
}, TIMEOUT);

test('both CRDs are Established with their names accepted', async () => {
  const { apiextensions } = kube();
  for (const name of ['codingtasks.autorun.dev', 'agentpools.autorun.dev']) {
    const crd = await apiextensions.readCustomResourceDefinition({ name });
    const conditions = Object.fromEntries((crd.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(crd.status?.acceptedNames).toMatchObject({ categories: ['autorun'] });
  }
}, TIMEOUT);

test('every example manifest is accepted by the apiserver as written', async () => {
  // The local tier's examples are CodingTasks too: the same files must apply to a cluster.
  const files = [...readdirSync(examples), ...readdirSync(join(examples, 'local')).map((f) => join('local', f))].filter((f) => f.endsWith('.yaml'));
  expect(files).toEqual(expect.arrayContaining(['agentpool-gke-l4.yaml', 'codingtask-fizzbuzz.yaml', 'local/slugify.yaml', 'local/fizzbuzz.yaml']));
  for (const f of files) {
    const r = await kubectl(['apply', '-n', ns, '-f', join(examples, f)]);
    expect({ file: f, code: r.code, stderr: r.stderr }).toEqual({ file: f, code: 0, stderr: '' });
  }
  // Defaults the schema promises are applied by the apiserver.
  const task = (await kube().custom.getNamespacedCustomObject({ group: 'autorun.dev', version: 'v1alpha1', namespace: ns, plural: 'codingtasks', name: 'slugify' })) as { spec: Record<string, unknown> };
  expect(task.spec).toMatchObject({ language: 'python', suspend: false, priority: 0, limits: { maxIterations: 4, maxCostUSD: '1', timeout: '30m' } });
  const pool = (await kube().custom.getNamespacedCustomObject({ group: 'autorun.dev', version: 'v1alpha1', namespace: ns, plural: 'agentpools', name: 'gke-l4' })) as { spec: { roles: Record<string, Record<string, unknown>>; model: Record<string, unknown> } };
  expect(pool.spec.model.apiKeySecretRef).toEqual({ name: 'anthropic', key: 'api-key' });
  expect(pool.spec.roles.code).toMatchObject({ engine: 'sdk', gpus: 0, maxTurns: 50, maxAttempts: 3 });
  expect(pool.spec.roles.run).toMatchObject({ gpus: 1, timeoutSeconds: 900, maxAttempts: 3 });
}, TIMEOUT);

describe('kubectl get', () => {
  beforeAll(async () => {
    await kubectlOk(['apply', '-n', ns, '-f', join(examples, 'codingtask-fizzbuzz.yaml'), '-f', join(examples, 'agentpool-gke-l4.yaml')]);
  }, TIMEOUT);

  test('ct prints NAME PHASE ITER TESTS COST AGE, filled in from status', async () => {
    const before = table(await kubectlOk(['get', 'ct', 'fizzbuzz', '-n', ns]));
    expect(before[0]).toEqual(['NAME', 'PHASE', 'ITER', 'TESTS', 'COST', 'AGE']);

    await kube().custom.patchNamespacedCustomObjectStatus({
      group: 'autorun.dev', version: 'v1alpha1', namespace: ns, plural: 'codingtasks', name: 'fizzbuzz',
      body: { status: { phase: 'Repairing', reason: 'TestsFailing', iteration: 2, tests: { passed: 9, failed: 1, total: 10, summary: '9/10' }, cost: { llmUSD: '0.41', totalUSD: '0.41', summary: '$0.41' } } },
    }, mergePatch);

    const [header, row] = table(await kubectlOk(['get', 'ct', 'fizzbuzz', '-n', ns]));
    expect(header).toEqual(['NAME', 'PHASE', 'ITER', 'TESTS', 'COST', 'AGE']);
    expect(row!.slice(0, 5)).toEqual(['fizzbuzz', 'Repairing', '2', '9/10', '$0.41']);
    expect(row![5]).toMatch(/^\d+s$/);

    const [wideHeader, wideRow] = table(await kubectlOk(['get', 'codingtasks', 'fizzbuzz', '-n', ns, '-o', 'wide']));
    expect(wideHeader).toEqual(['NAME', 'PHASE', 'ITER', 'TESTS', 'COST', 'AGE', 'REASON', 'PR']);
    expect(wideRow![6]).toBe('TestsFailing');
  }, TIMEOUT);

  test('ap prints NAME ACTIVE QUEUED GPUS AGE, filled in from status', async () => {
    await kube().custom.patchNamespacedCustomObjectStatus({
      group: 'autorun.dev', version: 'v1alpha1', namespace: ns, plural: 'agentpools', name: 'gke-l4',
      body: { status: { activeTasks: 16, queuedTasks: 3, gpusInUse: 12 } },
    }, mergePatch);
    const [header, row] = table(await kubectlOk(['get', 'ap', 'gke-l4', '-n', ns]));
    expect(header).toEqual(['NAME', 'ACTIVE', 'QUEUED', 'GPUS', 'AGE']);
    expect(row!.slice(0, 4)).toEqual(['gke-l4', '16', '3', '12']);
  }, TIMEOUT);

  test('the autorun category lists tasks and pools together; singular and plural names work', async () => {
    const out = await kubectlOk(['get', 'autorun', '-n', ns, '-o', 'name']);
    expect(out.split('\n')).toEqual(expect.arrayContaining(['codingtask.autorun.dev/fizzbuzz', 'agentpool.autorun.dev/gke-l4']));
    for (const resource of ['ct', 'codingtask', 'codingtasks', 'codingtasks.autorun.dev']) {
      expect(await kubectlOk(['get', resource, 'fizzbuzz', '-n', ns, '-o', 'name'])).toBe('codingtask.autorun.dev/fizzbuzz\n');
    }
    for (const resource of ['ap', 'agentpool', 'agentpools']) {
      expect(await kubectlOk(['get', resource, 'gke-l4', '-n', ns, '-o', 'name'])).toBe('agentpool.autorun.dev/gke-l4\n');
    }
  }, TIMEOUT);
});

test('kubectl explain shows the schema descriptions', async () => {
  // The OpenAPI document is rebuilt shortly after a CRD changes; explain reads it.
  const out = await eventually(async () => {
    const r = await kubectl(['explain', 'codingtask.spec.limits']);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  });
  expect(out).toContain('KIND:       CodingTask');
  expect(out).toContain('When to give up.');
  for (const field of ['maxIterations\t<integer>', 'maxCostUSD\t<string>', 'timeout\t<string>']) expect(out).toContain(field);
  expect(out).toMatch(/Stops with reason\s+MaxIterations/);
  expect(out).toMatch(/Stops with reason\s+CostLimit/);

  const pool = await kubectlOk(['explain', 'agentpool.spec.gpu.limit']);
  expect(pool).toContain('Most GPUs the pool\'s Pods hold at once');
}, TIMEOUT);

test('status is a subresource: a spec write cannot change it', async () => {
  await kubectlOk(['apply', '-n', ns, '-f', join(examples, 'local', 'slugify.yaml')]);
  const { custom } = kube();
  const ref = { group: 'autorun.dev', version: 'v1alpha1', namespace: ns, plural: 'codingtasks', name: 'slugify' };
  await custom.patchNamespacedCustomObject({ ...ref, body: { spec: { priority: 5 }, status: { phase: 'Succeeded' } } }, mergePatch);
  const task = (await custom.getNamespacedCustomObject(ref)) as { spec: { priority: number }; status?: { phase?: string }; metadata: { generation: number } };
  expect(task.spec.priority).toBe(5);
  expect(task.status?.phase).toBeUndefined();
  expect(task.metadata.generation).toBe(2);
}, TIMEOUT);
