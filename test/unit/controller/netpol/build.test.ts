import type { V1NetworkPolicy, V1NetworkPolicyEgressRule } from '@kubernetes/client-node';
import {
  BASELINE_POLICY,
  DEFAULT_EGRESS,
  baselinePolicy,
  ipBlockPeer,
  modelPort,
  parseCidrs,
  poolPolicies,
} from '../../../../operator/src/controller/netpol/build.js';
import { buildStagePod } from '../../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../../operator/src/core/names.js';
import type { Role } from '../../../../operator/src/api/types.js';
import { pool, task } from '../pods/fixtures.js';

const p = pool({}, { uid: '0a0a0a0a-0000-4000-8000-000000000002' });
const ROLES: Role[] = ['code', 'test', 'run', 'repair', 'acceptance', 'publish'];

/** Label-selector matching as the apiserver does it, for the selectors these policies use. */
function selects(np: V1NetworkPolicy, labels: Record<string, string>): boolean {
  const sel = np.spec!.podSelector!;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'Exists' && !(e.key in labels)) return false;
    if (e.operator === 'In' && !e.values!.includes(labels[e.key]!)) return false;
  }
  return true;
}

const ports = (rules: V1NetworkPolicyEgressRule[]): string[] => rules.flatMap((r) => (r.ports ?? []).map((x) => `${x.protocol}/${x.port}`)).sort();
const cidrs = (rules: V1NetworkPolicyEgressRule[]): string[] => rules.flatMap((r) => (r.to ?? []).flatMap((t) => (t.ipBlock ? [`${t.ipBlock.cidr}-${(t.ipBlock.except ?? []).join('+')}`] : [])));

describe('stage NetworkPolicies', () => {
  const [run, agents] = poolPolicies(p, DEFAULT_EGRESS);
  const base = baselinePolicy('team-a');

  it.each(ROLES)('every %s Pod is selected by the baseline and by exactly one of its pool\'s allowances', (role) => {
    const t = task();
    const key = { iteration: 1, role, attempt: 0 };
    const pod = buildStagePod({ task: t, pool: p, key, name: stageName(t.metadata.name, key), context: { codeRef: 'a', testsRef: 'b' } });
    const labels = pod.metadata!.labels!;
    expect(selects(base, labels)).toBe(true);
    // publish, like run and acceptance, reaches the git host (its pull-request API) and no model.
    const exec = role === 'run' || role === 'acceptance' || role === 'publish';
    expect([selects(run!, labels), selects(agents!, labels)]).toEqual([exec, !exec]);
    // Another pool's allowances select none of this pool's Pods.
    const [otherRun, otherAgents] = poolPolicies(pool({}, { name: 'other', uid: 'u2' }), DEFAULT_EGRESS);
    expect([selects(otherRun!, labels), selects(otherAgents!, labels)]).toEqual([false, false]);
  });

  it('the baseline denies everything and is nobody\'s; the allowances are owned by the pool', () => {
    expect(base.metadata!.name).toBe(BASELINE_POLICY);
    expect(base.spec!.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(base.spec!.egress).toBeUndefined();
    expect(base.spec!.ingress).toBeUndefined();
    expect(base.metadata!.ownerReferences).toBeUndefined();
    for (const np of [run!, agents!]) {
      expect(np.spec!.ingress).toBeUndefined();
      expect(np.spec!.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(np.metadata!.ownerReferences).toEqual([{ apiVersion: 'autorun.dev/v1alpha1', kind: 'AgentPool', name: 'default', uid: p.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    expect([run!.metadata!.name, agents!.metadata!.name]).toEqual(['autorun-default-run', 'autorun-default-agents']);
  });

  it('run and acceptance reach the cluster DNS and the git host; the agents also the model, on 443', () => {
    expect(ports(run!.spec!.egress!)).toEqual(['TCP/22', 'TCP/443', 'TCP/53', 'TCP/9418', 'UDP/53']);
    expect(run!.spec!.egress![0]!.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
    expect(ports(agents!.spec!.egress!)).toEqual(['TCP/22', 'TCP/443', 'TCP/443', 'TCP/53', 'TCP/9418', 'UDP/53']);
    // 0.0.0.0/0 by default, always without the link-local range (the metadata server).
    expect(cidrs(agents!.spec!.egress!)).toEqual(['0.0.0.0/0-169.254.0.0/16', '0.0.0.0/0-169.254.0.0/16']);
  });

  it('no rule reaches 169.254.169.254, whatever the CIDRs configured', () => {
    expect(ipBlockPeer('169.254.0.0/16')).toEqual({ ipBlock: { cidr: '169.254.0.0/16', except: ['169.254.169.254/32'] } });
    expect(ipBlockPeer('169.254.169.0/24')).toEqual({ ipBlock: { cidr: '169.254.169.0/24', except: ['169.254.169.254/32'] } });
    expect(ipBlockPeer('10.0.0.0/8')).toEqual({ ipBlock: { cidr: '10.0.0.0/8' } });
    expect(ipBlockPeer('128.0.0.0/1')).toEqual({ ipBlock: { cidr: '128.0.0.0/1', except: ['169.254.0.0/16'] } });
    expect(() => ipBlockPeer('169.254.169.254/32')).toThrow(/metadata server/);
    const cfg = { gitCIDRs: ['140.82.112.0/20'], modelCIDRs: ['160.79.104.0/23'], dnsCIDRs: ['169.254.20.10/32'] };
    const [r, a] = poolPolicies(p, cfg);
    expect(cidrs(r!.spec!.egress!)).toEqual(['169.254.20.10/32-', '140.82.112.0/20-']);
    expect(cidrs(a!.spec!.egress!)).toEqual(['169.254.20.10/32-', '140.82.112.0/20-', '160.79.104.0/23-']);
  });

  it('a pool with its own model server is reached on its port; a Vertex pool\'s agents get the metadata server for Workload Identity', () => {
    expect(modelPort(pool({ model: { provider: 'openai-compatible', baseURL: 'http://vllm.models:8000/v1' } }))).toBe(8000);
    expect(modelPort(pool({ model: { provider: 'openai-compatible', baseURL: 'http://vllm/v1' } }))).toBe(80);
    const [r, a] = poolPolicies(pool({ model: { provider: 'vertex', vertex: { region: 'us-east5', projectID: 'p' } } }, { uid: 'u' }), DEFAULT_EGRESS);
    expect(a!.spec!.egress!.at(-1)).toEqual({ to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: [{ protocol: 'TCP', port: 80 }] });
    expect(JSON.stringify(r)).not.toContain('169.254.169.254/32"}');
  });

  it('CIDR settings are checked, naming the flag', () => {
    expect(parseCidrs('git-egress-cidrs', undefined, ['0.0.0.0/0'])).toEqual(['0.0.0.0/0']);
    expect(parseCidrs('git-egress-cidrs', '', ['0.0.0.0/0'])).toEqual([]);
    expect(parseCidrs('git-egress-cidrs', '10.0.0.0/8, fd00::/8', [])).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(() => parseCidrs('git-egress-cidrs', 'github.com', [])).toThrow('--git-egress-cidrs: github.com is not a CIDR');
    expect(() => parseCidrs('dns-egress-cidrs', '169.254.169.254/32', [])).toThrow(/metadata server/);
  });
});
