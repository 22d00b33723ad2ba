// The NetworkPolicies of the stage Pods in one namespace. Pure: the same pool and settings give the
// same objects, so reconcile compares and writes only on a difference.
//
// Three per namespace-and-pool, all selecting only Pods the operator created:
// - `autorun-stages-deny` (one per namespace, no owner): every stage Pod, no ingress, no egress. A
//   stage Pod is never without a policy, even after its pool's allowances were collected (the pool
//   deleted while its tasks' Pods still run): it then reaches nothing. Left behind on uninstall; it
//   selects stage Pods only.
// - `autorun-<pool>-run` (owned by the pool): run, acceptance and publish Pods may reach DNS (the
//   cluster's resolver) and the git host, on git's ports. The run roles' checkout init container
//   clones; the test container holds no credential, and a NetworkPolicy covers the whole Pod. publish
//   calls the git host's pull-request API (GitHub's or GitLab's REST API, HTTPS on 443) and no model.
// - `autorun-<pool>-agents` (owned by the pool): code, test and repair reach DNS, the git host and
//   the model endpoint (443, or the port of the pool's baseURL).
// No rule reaches the link-local range (the metadata server, 169.254.169.254), except for the LLM
// roles of a Vertex pool, whose Workload Identity tokens come from the GKE metadata server.
import { createHash } from 'node:crypto';
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { AgentPool } from '../../api/types.js';
import { MANAGED_BY, MANAGED_BY_LABEL, POOL_LABEL, ROLE_LABEL, TASK_LABEL, labelValue } from '../pods/labels.js';
import { API_VERSION } from '../../api/types.js';

export const BASELINE_POLICY = 'autorun-stages-deny';
/** Label on every policy the operator writes; the informer selects by it. */
export const POLICY_LABEL = 'autorun.dev/network-policy';
export const METADATA_IP = '169.254.169.254';
const LINK_LOCAL = '169.254.0.0/16';

export interface EgressConfig {
  /** Where the git host is (TCP 443, 22, 9418). */
  gitCIDRs: string[];
  /** Where the model endpoint is. */
  modelCIDRs: string[];
  /** Resolvers besides the cluster's kube-dns Pods (for example NodeLocal DNSCache's 169.254.20.10/32). */
  dnsCIDRs: string[];
}

export const DEFAULT_EGRESS: EgressConfig = { gitCIDRs: ['0.0.0.0/0'], modelCIDRs: ['0.0.0.0/0'], dnsCIDRs: [] };

function ipv4(cidr: string): { base: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { base: addr - (addr % size), bits };
}

const contains = (outer: { base: number; bits: number }, inner: { base: number; bits: number }): boolean =>
  outer.bits <= inner.bits && inner.base - (inner.base % 2 ** (32 - outer.bits)) === outer.base;

/**
 * An ipBlock that never includes the metadata server: a CIDR around it excepts the link-local range
 * (or the metadata address alone, for a CIDR inside that range, such as a NodeLocal DNS address's).
 */
export function ipBlockPeer(cidr: string): V1NetworkPolicyPeer {
  const c = ipv4(cidr);
  if (!c) return { ipBlock: { cidr } }; // IPv6: the metadata server has no v6 address on GKE
  const ll = ipv4(LINK_LOCAL)!;
  const md = ipv4(`${METADATA_IP}/32`)!;
  if (!contains(c, md)) return { ipBlock: { cidr } };
  if (c.bits < ll.bits) return { ipBlock: { cidr, except: [LINK_LOCAL] } };
  if (c.bits < 32) return { ipBlock: { cidr, except: [`${METADATA_IP}/32`] } };
  throw new Error(`egress CIDR ${cidr} is the metadata server's address, which no stage Pod may reach`);
}

/** Parses a comma-separated CIDR list (a flag or env value); throws naming the bad entry. */
export function parseCidrs(flag: string, value: string | undefined, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of list) {
    if (!ipv4(c) && !/^[0-9a-f:]+\/\d{1,3}$/i.test(c)) throw new Error(`--${flag}: ${c} is not a CIDR (such as 10.0.0.0/8)`);
    ipBlockPeer(c);
  }
  return list;
}

const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: 'TCP', port });

function dnsRule(cfg: EgressConfig): V1NetworkPolicyEgressRule {
  return {
    to: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
      ...cfg.dnsCIDRs.map(ipBlockPeer),
    ],
    ports: [{ protocol: 'UDP', port: 53 }, tcp(53)],
  };
}

function gitRule(cfg: EgressConfig): V1NetworkPolicyEgressRule {
  return { to: cfg.gitCIDRs.map(ipBlockPeer), ports: [tcp(443), tcp(22), tcp(9418)] };
}

/** The model endpoint's port: the pool's baseURL's, else HTTPS. */
export function modelPort(pool: AgentPool): number {
  const base = pool.spec.model?.baseURL;
  if (!base) return 443;
  try {
    const u = new URL(base);
    return u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
  } catch {
    return 443;
  }
}

function name(pool: string, suffix: string): string {
  const n = `autorun-${pool}-${suffix}`;
  if (n.length <= 253) return n;
  return `autorun-${pool.slice(0, 200)}-${createHash('sha256').update(pool).digest('hex').slice(0, 10)}-${suffix}`;
}

export const runPolicyName = (pool: string): string => name(pool, 'run');
export const agentsPolicyName = (pool: string): string => name(pool, 'agents');

const labels = (kind: string, pool?: string): Record<string, string> => ({
  [MANAGED_BY_LABEL]: MANAGED_BY,
  [POLICY_LABEL]: kind,
  ...(pool ? { [POOL_LABEL]: labelValue(pool) } : {}),
});

/** Every stage Pod of the namespace: no ingress, no egress unless a pool's policy allows it. */
export function baselinePolicy(namespace: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: BASELINE_POLICY, namespace, labels: labels('baseline') },
    spec: {
      podSelector: { matchLabels: { [MANAGED_BY_LABEL]: MANAGED_BY }, matchExpressions: [{ key: TASK_LABEL, operator: 'Exists' }] },
      policyTypes: ['Ingress', 'Egress'],
    },
  };
}

/** The pool's two allowances: run, acceptance and publish Pods (the git host only), and the LLM roles' Pods. */
export function poolPolicies(pool: AgentPool, cfg: EgressConfig): V1NetworkPolicy[] {
  const { namespace, uid } = pool.metadata;
  if (!uid) throw new Error(`AgentPool ${namespace ?? ''}/${pool.metadata.name} has no metadata.uid`);
  const owner = { apiVersion: API_VERSION, kind: 'AgentPool', name: pool.metadata.name, uid, controller: true, blockOwnerDeletion: true };
  const selector = (roles: string[]) => ({
    matchLabels: { [MANAGED_BY_LABEL]: MANAGED_BY, [POOL_LABEL]: labelValue(pool.metadata.name) },
    matchExpressions: [{ key: ROLE_LABEL, operator: 'In', values: roles }],
  });
  const model: V1NetworkPolicyEgressRule[] = [{ to: cfg.modelCIDRs.map(ipBlockPeer), ports: [tcp(modelPort(pool))] }];
  if (pool.spec.model?.provider === 'vertex') model.push({ to: [{ ipBlock: { cidr: `${METADATA_IP}/32` } }], ports: [tcp(80)] });
  const policy = (n: string, kind: string, roles: string[], egress: V1NetworkPolicyEgressRule[]): V1NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: n, namespace, labels: labels(kind, pool.metadata.name), ownerReferences: [owner] },
    spec: { podSelector: selector(roles), policyTypes: ['Ingress', 'Egress'], egress },
  });
  return [
    policy(runPolicyName(pool.metadata.name), 'run', ['run', 'acceptance', 'publish'], [dnsRule(cfg), gitRule(cfg)]),
    policy(agentsPolicyName(pool.metadata.name), 'agents', ['code', 'test', 'repair'], [dnsRule(cfg), gitRule(cfg), ...model]),
  ];
}
