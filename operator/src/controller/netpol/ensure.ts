// Level-based upkeep of the stage Pods' NetworkPolicies: the namespace's baseline and the pool's
// allowances exist and match what they should be; a missing one is created, a changed one (edited,
// or the operator's settings moved) replaced. The cache answers the common case without a call; a
// write not yet seen in the cache is not repeated.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { AgentPool } from '../../api/types.js';
import { jsonEqual } from '../../core/equal.js';
import type { Logger } from '../../util/log.js';
import type { KubeApi } from '../kube.js';
import { baselinePolicy, poolPolicies, type EgressConfig } from './build.js';

/** What is compared of a policy: the rest (resourceVersion, managedFields, ...) is the apiserver's. */
function policyShape(np: V1NetworkPolicy): unknown {
  return [np.metadata?.labels ?? {}, np.metadata?.ownerReferences ?? [], np.spec ?? {}];
}

export class NetworkPolicies {
  /** Policies written (namespace/name → the shape written) and not yet seen so in the cache. */
  private readonly written = new Map<string, unknown>();

  constructor(
    private readonly api: Pick<KubeApi, 'createNetworkPolicy' | 'replaceNetworkPolicy'>,
    private readonly cached: (namespace: string, name: string) => V1NetworkPolicy | undefined,
    private readonly egress: EgressConfig | undefined,
    private readonly log: Logger,
  ) {}

  async ensure(pool: AgentPool): Promise<void> {
    if (!this.egress) return;
    const namespace = pool.metadata.namespace!;
    for (const want of [baselinePolicy(namespace), ...poolPolicies(pool, this.egress)]) {
      const name = want.metadata!.name!;
      const k = `${namespace}/${name}`;
      const shape = policyShape(want);
      const have = this.cached(namespace, name);
      if (have && jsonEqual(policyShape(have), shape)) {
        this.written.delete(k);
        continue;
      }
      if (jsonEqual(this.written.get(k), shape)) continue;
      if (!have) {
        const r = await this.api.createNetworkPolicy(namespace, want);
        this.log.info('network policy created', { policy: k, outcome: r });
      } else {
        await this.api.replaceNetworkPolicy(namespace, { ...want, metadata: { ...want.metadata, resourceVersion: have.metadata?.resourceVersion } });
        this.log.info('network policy restored', { policy: k });
      }
      this.written.set(k, shape);
    }
  }

  /** A policy deleted from the cache must be written again even if we wrote it before. */
  gone(namespace: string, name: string): void {
    this.written.delete(`${namespace}/${name}`);
  }
}
