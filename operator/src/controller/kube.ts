// Every call the operator makes to the apiserver, in one place: the API clients, and the writes,
// each counted (verb, resource, HTTP outcome, task) and each idempotent the way reconcile needs:
// create answers "exists" on 409, delete answers "gone" on 404, status writes carry the
// resourceVersion they were computed from so a stale cache shows up as a Conflict, never as a lost
// update.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type HttpInfo,
  type KubeConfig,
  type V1ConfigMap,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import { GROUP, VERSION, type AgentPool, type AgentPoolStatus, type CodingTask, type CodingTaskStatus } from '../api/types.js';
import type { ControllerMetrics, WriteVerb } from './metrics.js';

export const TASKS = 'codingtasks';
export const POOLS = 'agentpools';

export function httpCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

export class KubeApi {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;
  readonly networking: NetworkingV1Api;

  constructor(
    readonly kc: KubeConfig,
    private readonly metrics: ControllerMetrics,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
  }

  /** Runs a write through its WithHttpInfo variant, so that the metric carries the status the apiserver sent. */
  private async counted<T>(verb: WriteVerb, resource: string, taskKey: string | undefined, call: () => Promise<HttpInfo<T>>): Promise<T> {
    try {
      const r = await call();
      this.metrics.write(verb, resource, r.httpStatusCode, taskKey);
      return r.data;
    } catch (err) {
      this.metrics.write(verb, resource, httpCode(err), taskKey);
      throw err;
    }
  }

  /** 'created', or 'exists' when a Pod of that name is already there (deterministic names). */
  async createPod(namespace: string, pod: V1Pod, taskKey: string): Promise<'created' | 'exists'> {
    try {
      await this.counted('create', 'pods', taskKey, () => this.core.createNamespacedPodWithHttpInfo({ namespace, body: pod }));
      return 'created';
    } catch (err) {
      if (httpCode(err) === 409) return 'exists';
      throw err;
    }
  }

  async deletePod(namespace: string, name: string, taskKey: string): Promise<'deleted' | 'gone'> {
    try {
      await this.counted('delete', 'pods', taskKey, () => this.core.deleteNamespacedPodWithHttpInfo({ namespace, name, propagationPolicy: 'Background' }));
      return 'deleted';
    } catch (err) {
      if (httpCode(err) === 404) return 'gone';
      throw err;
    }
  }

  async createConfigMap(namespace: string, cm: V1ConfigMap, taskKey: string): Promise<'created' | 'exists'> {
    try {
      await this.counted('create', 'configmaps', taskKey, () => this.core.createNamespacedConfigMapWithHttpInfo({ namespace, body: cm }));
      return 'created';
    } catch (err) {
      if (httpCode(err) === 409) return 'exists';
      throw err;
    }
  }

  /** 'deleted', or 'gone' when it was already. */
  async deleteConfigMap(namespace: string, name: string, taskKey: string): Promise<'deleted' | 'gone'> {
    try {
      await this.counted('delete', 'configmaps', taskKey, () => this.core.deleteNamespacedConfigMapWithHttpInfo({ namespace, name }));
      return 'deleted';
    } catch (err) {
      if (httpCode(err) === 404) return 'gone';
      throw err;
    }
  }

  async createNetworkPolicy(namespace: string, policy: V1NetworkPolicy): Promise<'created' | 'exists'> {
    try {
      await this.counted('create', 'networkpolicies', undefined, () => this.networking.createNamespacedNetworkPolicyWithHttpInfo({ namespace, body: policy }));
      return 'created';
    } catch (err) {
      if (httpCode(err) === 409) return 'exists';
      throw err;
    }
  }

  /** PUT with the resourceVersion it was compared against: a concurrent edit is a Conflict, retried. */
  async replaceNetworkPolicy(namespace: string, policy: V1NetworkPolicy): Promise<void> {
    await this.counted('update', 'networkpolicies', undefined, () =>
      this.networking.replaceNamespacedNetworkPolicyWithHttpInfo({ namespace, name: policy.metadata!.name!, body: policy }),
    );
  }

  async listNetworkPolicies(namespace: string | undefined, labelSelector: string): Promise<{ items: V1NetworkPolicy[]; metadata?: { resourceVersion?: string } }> {
    const list = namespace
      ? await this.networking.listNamespacedNetworkPolicy({ namespace, labelSelector })
      : await this.networking.listNetworkPolicyForAllNamespaces({ labelSelector });
    return JSON.parse(JSON.stringify(list)) as { items: V1NetworkPolicy[] };
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap> {
    return this.core.readNamespacedConfigMap({ namespace, name });
  }

  async createEvent(namespace: string, event: CoreV1Event, taskKey: string | undefined): Promise<'created' | 'exists'> {
    try {
      await this.counted('create', 'events', taskKey, () => this.core.createNamespacedEventWithHttpInfo({ namespace, body: event }));
      return 'created';
    } catch (err) {
      if (httpCode(err) === 409) return 'exists';
      throw err;
    }
  }

  /** The head of a container's log, bounded: a run Pod's failure report for the repair agent. */
  async podLog(namespace: string, name: string, container: string | undefined, limitBytes: number): Promise<string> {
    return this.core.readNamespacedPodLog({ namespace, name, container, limitBytes });
  }

  /** PUT /status with the resourceVersion the new status was computed from. */
  async replaceTaskStatus(task: CodingTask, status: CodingTaskStatus, taskKey: string): Promise<CodingTask> {
    const { namespace, name } = task.metadata;
    return this.counted('update', 'codingtasks/status', taskKey, () =>
      this.custom.replaceNamespacedCustomObjectStatusWithHttpInfo({
        group: GROUP,
        version: VERSION,
        plural: TASKS,
        namespace: namespace!,
        name,
        body: { ...task, status },
      }),
    ) as Promise<CodingTask>;
  }

  /** A metadata merge patch on the task itself (not its status): only the given annotations change. */
  async patchTaskAnnotations(namespace: string, name: string, annotations: Record<string, string>, taskKey: string): Promise<void> {
    await this.counted('patch', TASKS, taskKey, () =>
      this.custom.patchNamespacedCustomObjectWithHttpInfo(
        { group: GROUP, version: VERSION, plural: TASKS, namespace, name, body: { metadata: { annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }

  /**
   * A merge patch of the task's spec or metadata, for the people acting from Slack. With
   * metadata.resourceVersion in it the apiserver refuses a stale one (409), as a list field such as
   * spec.guidance needs: a merge patch replaces lists whole.
   */
  async patchTask(namespace: string, name: string, body: object): Promise<CodingTask> {
    const key = `${namespace}/${name}`;
    return (await this.counted('patch', TASKS, key, () =>
      this.custom.patchNamespacedCustomObjectWithHttpInfo(
        { group: GROUP, version: VERSION, plural: TASKS, namespace, name, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    )) as CodingTask;
  }

  async createTask(namespace: string, body: object): Promise<CodingTask> {
    return (await this.counted('create', TASKS, undefined, () => this.custom.createNamespacedCustomObjectWithHttpInfo({ group: GROUP, version: VERSION, plural: TASKS, namespace, body }))) as CodingTask;
  }

  readTask(namespace: string, name: string): Promise<CodingTask> {
    return this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: TASKS, namespace, name }) as Promise<CodingTask>;
  }

  /** A merge patch: the pool's status is a handful of counters that only the leader writes. */
  async patchPoolStatus(pool: AgentPool, status: AgentPoolStatus): Promise<AgentPool> {
    const { namespace, name } = pool.metadata;
    return this.counted('patch', 'agentpools/status', undefined, () =>
      this.custom.patchNamespacedCustomObjectStatusWithHttpInfo(
        { group: GROUP, version: VERSION, plural: POOLS, namespace: namespace!, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    ) as Promise<AgentPool>;
  }

  listTasks(namespace: string | undefined): Promise<{ items: CodingTask[]; metadata?: { resourceVersion?: string } }> {
    return (
      namespace
        ? this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: TASKS, namespace })
        : this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: TASKS })
    ) as Promise<{ items: CodingTask[] }>;
  }

  listPools(namespace: string | undefined): Promise<{ items: AgentPool[]; metadata?: { resourceVersion?: string } }> {
    return (
      namespace
        ? this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: POOLS, namespace })
        : this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: POOLS })
    ) as Promise<{ items: AgentPool[] }>;
  }

  /**
   * Typed lists come back with Date objects where a watch delivers strings; a JSON round trip makes
   * the cache hold one shape (the wire's) whichever path an object arrived by.
   */
  async listPods(namespace: string | undefined, labelSelector: string): Promise<{ items: V1Pod[]; metadata?: { resourceVersion?: string } }> {
    const list = namespace ? await this.core.listNamespacedPod({ namespace, labelSelector }) : await this.core.listPodForAllNamespaces({ labelSelector });
    return JSON.parse(JSON.stringify(list)) as { items: V1Pod[] };
  }
}
