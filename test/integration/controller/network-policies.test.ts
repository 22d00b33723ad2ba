// The stage Pods' NetworkPolicies on the real apiserver, with the operator's own identity and a task
// in a namespace other than the one the operator runs in (its Lease's, the release namespace): every
// stage Pod of every role is selected by the namespace's deny-all baseline and by one allowance of its
// pool whose egress is the role's. The selection is checked by the apiserver itself (each policy's
// podSelector as a label selector on the Pod list). This cluster's pods run on kwok nodes (no CNI), so
// nothing here enforces a policy; what a CNI enforces is what these objects say.
import { jest } from '@jest/globals';
import type { V1LabelSelector, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import * as k8s from '@kubernetes/client-node';
import type { Controller } from '../../../operator/src/controller/controller.js';
import { BASELINE_POLICY, METADATA_IP, agentsPolicyName, runPolicyName } from '../../../operator/src/controller/netpol/build.js';
import { GROUP, VERSION } from '../../../operator/src/api/types.js';
import { createTestNamespace, deleteNamespace, eventually, kube, kubeConfig } from '../../harness/kube.js';
import { Agents, createPool, createTask, failingRun, startOperator, success, TestBed, waitForPhase } from './support.js';

jest.setTimeout(180_000);

let bed: TestBed;
let team: string;
let operator: Controller;
let agents: Agents;
const net = () => kubeConfig().makeApiClient(k8s.NetworkingV1Api);

beforeAll(async () => {
  bed = await TestBed.create('ctl-netpol');
  team = await createTestNamespace('team');
  await bed.gpuNodes(1);
  await createPool(team, { isolationPrefix: bed.ns, gpuLimit: 1 });
  await kube().core.createNamespacedConfigMap({ namespace: team, body: { metadata: { name: 'np-acceptance' }, data: { 'test_hidden.py': 'def test_x(): pass\n' } } });
  let runs = 0;
  // code ∥ test → run fails → repair → run passes → acceptance: every role gets a Pod.
  agents = new Agents(team, (s) => (s.role === 'run' && runs++ === 0 ? { result: failingRun(s, ['test_a']) } : { result: success(s) }));
  await agents.start();
  operator = await startOperator(team, bed.kc, { leaderElection: { namespace: bed.ns, name: 'autorun-operator', leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 } });
  await eventually(() => operator.isLeader(), { timeoutMs: 15_000 });
});

afterAll(async () => {
  await operator?.stop();
  await agents?.stop();
  await deleteNamespace(team);
  await bed?.tearDown();
});

function selectorString(s: V1LabelSelector): string {
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'In') parts.push(`${e.key} in (${e.values!.join(',')})`);
    else throw new Error(`unexpected operator ${e.operator}`);
  }
  return parts.join(',');
}

/** The Pods the apiserver says the policy's podSelector selects. */
async function selectedBy(np: V1NetworkPolicy): Promise<string[]> {
  const list = await kube().core.listNamespacedPod({ namespace: team, labelSelector: selectorString(np.spec!.podSelector!) });
  return list.items.map((p) => p.metadata!.name!).sort();
}

const portsOf = (np: V1NetworkPolicy): string[] => (np.spec!.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol}/${p.port}`)).sort();

test('every stage Pod of a task in another namespace is selected by a policy whose egress is its role\'s', async () => {
  await createTask(team, 'np', { acceptance: true });
  const t = await waitForPhase(team, 'np', ['Succeeded', 'Failed'], 120_000);
  expect(t.status?.phase).toBe('Succeeded');
  const pods: V1Pod[] = (await kube().core.listNamespacedPod({ namespace: team, labelSelector: 'autorun.dev/task=np' })).items;
  const roles = [...new Set(pods.map((p) => p.metadata!.labels!['autorun.dev/role']))].sort();
  expect(roles).toEqual(['acceptance', 'code', 'repair', 'run', 'test']);
  // The release namespace holds none: the policies are where the Pods are.
  expect((await net().listNamespacedNetworkPolicy({ namespace: bed.ns })).items).toEqual([]);

  const policies = new Map((await net().listNamespacedNetworkPolicy({ namespace: team })).items.map((np) => [np.metadata!.name!, np]));
  expect([...policies.keys()].sort()).toEqual([agentsPolicyName('default'), runPolicyName('default'), BASELINE_POLICY].sort());
  const baseline = policies.get(BASELINE_POLICY)!;
  const run = policies.get(runPolicyName('default'))!;
  const llm = policies.get(agentsPolicyName('default'))!;
  const byRole = (rs: string[]) => pods.filter((p) => rs.includes(p.metadata!.labels!['autorun.dev/role']!)).map((p) => p.metadata!.name!).sort();
  // Deny-all baseline over every stage Pod; each allowance over its roles' Pods only.
  expect(await selectedBy(baseline)).toEqual(expect.arrayContaining(pods.map((p) => p.metadata!.name!)));
  expect(baseline.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'] });
  expect(baseline.spec!.egress ?? []).toEqual([]);
  expect(await selectedBy(run)).toEqual(byRole(['run', 'acceptance']));
  expect(await selectedBy(llm)).toEqual(byRole(['code', 'test', 'repair']));
  // run/acceptance: DNS (kube-dns only) and git's ports; the LLM roles also the model on 443.
  expect(portsOf(run)).toEqual(['TCP/22', 'TCP/443', 'TCP/53', 'TCP/9418', 'UDP/53']);
  expect(portsOf(llm)).toEqual(['TCP/22', 'TCP/443', 'TCP/443', 'TCP/53', 'TCP/9418', 'UDP/53']);
  for (const np of [run, llm]) {
    expect(np.spec!.ingress ?? []).toEqual([]);
    expect(np.spec!.egress![0]!.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
    // Every ipBlock that spans the metadata server excepts it.
    for (const peer of np.spec!.egress!.flatMap((r) => r.to ?? []).filter((x) => x.ipBlock)) expect(peer.ipBlock).toEqual({ cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] });
    expect(JSON.stringify(np)).not.toContain(`"${METADATA_IP}/32"`);
  }
  // No stage Pod is BestEffort (the pool sets no resources for code, test and repair).
  for (const p of pods) expect([p.metadata!.name, p.status!.qosClass]).toEqual([p.metadata!.name, 'Burstable']);
});

test('a policy deleted or edited is put back; deleting the pool collects its allowances, the baseline stays', async () => {
  const name = agentsPolicyName('default');
  const before = await net().readNamespacedNetworkPolicy({ namespace: team, name });
  await net().deleteNamespacedNetworkPolicy({ namespace: team, name });
  const back = await eventually(async () => net().readNamespacedNetworkPolicy({ namespace: team, name }), { timeoutMs: 30_000, intervalMs: 100 });
  expect(back.metadata!.uid).not.toBe(before.metadata!.uid);
  expect(back.spec).toEqual(before.spec);
  // Opened up to everything by hand: restored.
  const run = await net().readNamespacedNetworkPolicy({ namespace: team, name: runPolicyName('default') });
  await net().replaceNamespacedNetworkPolicy({ namespace: team, name: runPolicyName('default'), body: { ...run, spec: { ...run.spec!, egress: [{}] } } });
  await eventually(
    async () => {
      const now = await net().readNamespacedNetworkPolicy({ namespace: team, name: runPolicyName('default') });
      if (JSON.stringify(now.spec) !== JSON.stringify(run.spec)) throw new Error('not restored yet');
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  await net().deleteNamespacedNetworkPolicy({ namespace: team, name: BASELINE_POLICY });
  await eventually(async () => net().readNamespacedNetworkPolicy({ namespace: team, name: BASELINE_POLICY }), { timeoutMs: 30_000, intervalMs: 100 });

  // The garbage collector (the real controller-manager's) removes what the pool owned.
  await kube().custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: team, plural: 'agentpools', name: 'default' });
  await eventually(
    async () => {
      const names = (await net().listNamespacedNetworkPolicy({ namespace: team })).items.map((np) => np.metadata!.name);
      if (names.length !== 1) throw new Error(`still ${names.join(', ')}`);
      return names;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  expect((await net().listNamespacedNetworkPolicy({ namespace: team })).items.map((np) => np.metadata!.name)).toEqual([BASELINE_POLICY]);
  // Each policy was written once at start, and once per repair above: no write loop against the apiserver's copy.
  const text = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  const writes = [...text.matchAll(/^autorun_api_writes_total\{verb="(\w+)",resource="networkpolicies",code="2\d\d"\} (\d+)/gm)].map((m) => `${m[1]}=${m[2]}`).sort();
  expect(writes).toEqual(['create=5', 'update=1']);
});
