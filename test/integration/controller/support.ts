// What the controller's integration tests share: the operator's own identity (a ServiceAccount bound
// to exactly OPERATOR_RULES, so RBAC is really exercised), pools and tasks, CPU and GPU nodes, an
// in-process operator, and "agents": a driver that answers each stage Pod the operator creates by
// finishing it through the Pod status, with the StageResult JSON an agent writes.
import * as k8s from '@kubernetes/client-node';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GROUP, VERSION, type AgentPool, type CodingTask, type Role, type StageResult } from '../../../operator/src/api/types.js';
import { Controller, type ControllerOptions } from '../../../operator/src/controller/controller.js';
import { OPERATOR_RULES } from '../../../operator/src/controller/rbac.js';
import { AGENT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { ATTEMPT_LABEL, ITERATION_LABEL, ROLE_LABEL, TASK_LABEL } from '../../../operator/src/controller/pods/labels.js';
import { createLogger } from '../../../operator/src/util/log.js';
import { completePod, failPod, oomKillPod, waitForPod } from '../../harness/kubelet.js';
import { runContainer, type ContainerRun } from '../../harness/container-process.js';
import { clusterInfo, createTestNamespace, deleteNamespace, eventually, kube, kubeConfig, statusCode } from '../../harness/kube.js';
import { GPU_TOLERATION, L4_SELECTOR, createL4Nodes, deleteNodes, isolation, l4Node, waitNodesSchedulable } from '../../harness/nodes.js';

export const OPERATOR_SA = 'autorun-operator';

const ignore409 = (err: unknown): void => {
  if (statusCode(err) !== 409) throw err;
};

/**
 * A kubeconfig for the operator that authenticates as ServiceAccount ns/autorun-operator with a
 * token from the TokenRequest API; a ClusterRole of exactly OPERATOR_RULES is bound to it.
 */
export async function operatorKubeConfig(namespace: string): Promise<{ kc: k8s.KubeConfig; file: string }> {
  const { core, rbac } = kube();
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: OPERATOR_SA } } }).catch(ignore409);
  const role = `autorun-operator-${namespace}`;
  await rbac.createClusterRole({ body: { metadata: { name: role, labels: { 'autorun.dev/test': 'true' } }, rules: OPERATOR_RULES.map((r) => ({ ...r })) } }).catch(ignore409);
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name: role, labels: { 'autorun.dev/test': 'true' } },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace }],
      },
    })
    .catch(ignore409);
  const tr = await core.createNamespacedServiceAccountToken({ namespace, name: OPERATOR_SA, body: { spec: { expirationSeconds: 3600 } } });
  const admin = kubeConfig();
  const cluster = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: cluster.skipTLSVerify }],
    users: [{ name: OPERATOR_SA, token: tr.status!.token }],
    contexts: [{ name: 'operator', cluster: 'test', user: OPERATOR_SA }],
    currentContext: 'operator',
  });
  const file = operatorKubeconfigFile(namespace);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return { kc, file };
}

export async function deleteOperatorRbac(namespace: string): Promise<void> {
  const { rbac } = kube();
  const name = `autorun-operator-${namespace}`;
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await rbac.deleteClusterRole({ name }).catch(() => undefined);
  rmSync(operatorKubeconfigFile(namespace), { force: true });
}

// Inside the control plane's dir: an operator process started with it (KUBECONFIG) is reaped with
// that control plane if jest is killed before it can stop the process (see harness/processes.ts).
function operatorKubeconfigFile(namespace: string): string {
  return join(clusterInfo().dir, `operator-${namespace}.kubeconfig`);
}

/** Nodes without the GPU taint for the LLM roles' Pods (shared by all tests; created once). */
export async function ensureCpuNodes(count = 4): Promise<void> {
  const { core } = kube();
  const names = Array.from({ length: count }, (_, i) => `ctl-cpu-${i}`);
  await Promise.all(
    names.map((name) => {
      const node = l4Node(name, { gpus: 0, labels: { 'cloud.google.com/gke-accelerator': 'none', 'autorun.dev/test-cpu': 'true' } });
      node.spec = { taints: [] };
      // 110 Pods per node is the kubelet default; the tests run more stage Pods than that in all.
      node.status!.capacity!.pods = '1000';
      node.status!.allocatable!.pods = '1000';
      return core.createNode({ body: node }).catch(ignore409);
    }),
  );
  await waitNodesSchedulable(names);
}

export interface PoolOptions {
  name?: string;
  maxConcurrentTasks?: number;
  gpuLimit?: number;
  /** Nodes of this isolation group only (see harness/nodes.ts). */
  isolationPrefix?: string;
  nodeSelector?: Record<string, string>;
  runMaxAttempts?: number;
  runGpus?: number;
  /** More spec fields, merged over the ones above (roles merged per role). */
  spec?: Record<string, unknown> & { roles?: Record<string, Record<string, unknown>> };
}

export async function createPool(namespace: string, o: PoolOptions = {}): Promise<AgentPool> {
  const iso = o.isolationPrefix ? isolation(o.isolationPrefix) : undefined;
  const body = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'AgentPool',
    metadata: { name: o.name ?? 'default', namespace },
    spec: {
      maxConcurrentTasks: o.maxConcurrentTasks ?? 16,
      gpu: { resource: 'nvidia.com/gpu', limit: o.gpuLimit ?? 16 },
      nodeSelector: { ...L4_SELECTOR, ...iso?.nodeSelector, ...o.nodeSelector },
      tolerations: [GPU_TOLERATION, ...(iso?.tolerations ?? [])],
      model: { provider: 'anthropic', name: 'claude-sonnet-4-5', apiKeySecretRef: { name: 'anthropic', key: 'api-key' } },
      ...o.spec,
      roles: { ...o.spec?.roles, run: { image: 'python:3.12-slim', gpus: o.runGpus ?? 1, maxAttempts: o.runMaxAttempts ?? 3, ...o.spec?.roles?.run } },
    },
  };
  return (await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'agentpools', body })) as AgentPool;
}

export interface TaskOptions {
  maxIterations?: number;
  maxCostUSD?: string;
  acceptance?: boolean;
  pool?: string;
  repository?: CodingTask['spec']['repository'];
  /** More spec.test.acceptance fields (a hint). */
  acceptanceHint?: string;
}

export async function createTask(namespace: string, name: string, o: TaskOptions = {}): Promise<CodingTask> {
  const body = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CodingTask',
    metadata: { name, namespace },
    spec: {
      pool: o.pool ?? 'default',
      goal: 'Implement fizzbuzz(n) in fizzbuzz.py returning Fizz, Buzz, FizzBuzz or the number as a string.',
      language: 'python',
      ...(o.repository ? { repository: o.repository } : {}),
      test: { command: 'pytest -q', ...(o.acceptance ? { acceptance: { configMapRef: { name: `${name}-acceptance` }, ...(o.acceptanceHint ? { hint: o.acceptanceHint } : {}) } } : {}) },
      limits: { maxIterations: o.maxIterations ?? 5, maxCostUSD: o.maxCostUSD ?? '5', timeout: '2h' },
    },
  };
  return (await kube().custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'codingtasks', body })) as CodingTask;
}

export async function getTask(namespace: string, name: string): Promise<CodingTask> {
  return (await kube().custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'codingtasks', name })) as CodingTask;
}

export async function getPool(namespace: string, name = 'default'): Promise<AgentPool> {
  return (await kube().custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'agentpools', name })) as AgentPool;
}

export async function waitForPhase(namespace: string, name: string, phases: string[], timeoutMs = 60_000): Promise<CodingTask> {
  return eventually(
    async () => {
      const t = await getTask(namespace, name);
      if (!phases.includes(t.status?.phase ?? '')) throw new Error(`${name} is ${t.status?.phase ?? 'without phase'} (${t.status?.reason ?? ''}: ${t.status?.message ?? ''})`);
      return t;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** An in-process operator scoped to one namespace, with fast leader election and a quiet log. */
export async function startOperator(namespace: string, kc: k8s.KubeConfig, o: Partial<ControllerOptions> = {}): Promise<Controller> {
  const c = new Controller({
    kc,
    namespace,
    identity: o.identity ?? `op-${Math.random().toString(16).slice(2, 8)}`,
    leaderElection: { namespace, name: 'autorun-operator', leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 },
    port: 0,
    log: createLogger('operator', process.env.AUTORUN_VERBOSE ? 'debug' : 'error'),
    ...o,
  });
  await c.start();
  return c;
}

/**
 * What every operator integration test stands on, set up and torn down in one place: a namespace of
 * its own with the shared CPU nodes, the operator's identity (a ServiceAccount bound to exactly its
 * rules), fake L4 nodes only this namespace's pools select, the agents driver (each task's stages
 * follow the script registered for the task in `scripts`; other stages are left running) and an
 * in-process operator.
 */
export class TestBed {
  agents: Agents | undefined;
  operator: Controller | undefined;
  private readonly nodes: string[] = [];

  private constructor(
    readonly ns: string,
    readonly kc: k8s.KubeConfig,
    readonly kubeconfigFile: string,
    readonly scripts: Map<string, Script>,
  ) {}

  static async create(prefix: string, scripts = new Map<string, Script>()): Promise<TestBed> {
    const ns = await createTestNamespace(prefix);
    await ensureCpuNodes();
    const { kc, file } = await operatorKubeConfig(ns);
    return new TestBed(ns, kc, file, scripts);
  }

  /** Fake L4 nodes labelled for `prefix` (a pool created with isolationPrefix: prefix selects them). */
  async gpuNodes(count: number, prefix = this.ns): Promise<string[]> {
    const names = await createL4Nodes({ count, prefix, isolate: true });
    this.nodes.push(...names);
    return names;
  }

  /** The agents driver; `script` (the same for every task) replaces the per-task scripts. */
  async startAgents(script?: Script): Promise<Agents> {
    this.agents = new Agents(this.ns, script ?? ((stage) => this.scripts.get(stage.task)?.(stage) ?? { leave: true }));
    await this.agents.start();
    return this.agents;
  }

  /** The operator in this process as the bed's identity; resolves once it holds the lease. */
  async startOperator(o: Partial<ControllerOptions> = {}): Promise<Controller> {
    const c = await startOperator(this.ns, this.kc, o);
    this.operator = c;
    await eventually(() => c.isLeader(), { timeoutMs: 15_000 });
    return c;
  }

  async tearDown(): Promise<void> {
    await this.operator?.stop();
    await this.agents?.stop();
    await deleteNodes(this.nodes).catch(() => undefined);
    await deleteOperatorRbac(this.ns);
    await deleteNamespace(this.ns);
  }
}

// ---------------------------------------------------------------------------------------------
// Agents

export interface StagePod {
  name: string;
  task: string;
  role: Role;
  iteration: number;
  attempt: number;
  pod: k8s.V1Pod;
}

export type Ending =
  /** delayMs: how long the agent works once its Pod runs; until: it finishes no sooner than this settles. */
  | { result: StageResult; delayMs?: number; until?: Promise<unknown> }
  /** Run the Pod's agent container as a process (harness/container-process.ts) and report its message. */
  | { exec: true }
  | { oom: true }
  | { crash: number }
  /** Leave the Pod running (Pending or Running) until the test acts. */
  | { leave: true };

export type Script = (stage: StagePod) => Ending;

const usage = (costUSD: number) => ({ inputTokens: 1200, outputTokens: 300, costUSD });

/** Results an agent of each role writes when everything goes well. */
export function success(stage: StagePod, costUSD = 0.01): StageResult {
  const commit = `${stage.role}-${stage.iteration}-${stage.attempt}`.padEnd(12, '0');
  switch (stage.role) {
    case 'code':
    case 'test':
    case 'repair':
      return { role: stage.role, outcome: 'Succeeded', commit, summary: `${stage.role} agent committed ${commit}`, usage: usage(costUSD) };
    case 'run':
    case 'acceptance':
      return { role: stage.role, outcome: 'Succeeded', commit, summary: '10 passed', tests: { passed: 10, failed: 0, total: 10, failing: [] } };
    case 'publish':
      return { role: 'publish', outcome: 'Succeeded', summary: 'opened pull request #1', pullRequestURL: `https://github.com/example/repo/pull/1` };
  }
}

export function failingRun(stage: StagePod, failing: string[], total = 10, flaky: string[] = []): StageResult {
  return {
    role: stage.role,
    outcome: failing.length ? 'Failed' : 'Succeeded',
    commit: `run-${stage.iteration}`,
    summary: `${failing.length} failed, ${total - failing.length} passed`,
    tests: { passed: total - failing.length, failed: failing.length, total, failing, ...(flaky.length ? { flaky } : {}) },
  };
}

/**
 * Plays every stage agent in a namespace: watches the stage Pods and finishes each one once, as the
 * script says, through the Pod status (harness/kubelet.ts) once the Pod is bound and Running.
 * Records when each Pod was created and finished, for the hand-off figures.
 */
export class Agents {
  readonly seen = new Map<string, StagePod>();
  /** Pod name → ms timestamps: when the informer saw it, when we finished it. */
  readonly createdAt = new Map<string, number>();
  readonly finishedAt = new Map<string, number>();
  /**
   * When this watch saw the Pod finished: the same stream (and clock) that saw the next Pod
   * created, so a hand-off measured between the two is not skewed by how long our own status
   * write took to return.
   */
  readonly finishSeenAt = new Map<string, number>();
  readonly errors: string[] = [];
  /** What the containers run as processes ({ exec: true }) printed, by Pod name. */
  readonly runs = new Map<string, ContainerRun>();
  /** Most GPU-holding (run, acceptance) Pods alive at once, as the agents saw them. */
  maxLiveGpuPods = 0;
  private readonly informer: k8s.Informer<k8s.V1Pod> & k8s.ObjectCache<k8s.V1Pod>;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly namespace: string,
    private readonly script: Script,
  ) {
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    this.informer = k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`, () => core.listNamespacedPod({ namespace, labelSelector: TASK_LABEL }), TASK_LABEL);
    this.informer.on('add', (pod) => this.onPod(pod));
    this.informer.on('update', (pod) => {
      const name = pod.metadata!.name!;
      if ((pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') && !this.finishSeenAt.has(name)) this.finishSeenAt.set(name, Date.now());
    });
    this.informer.on('error', (err) => {
      if (this.stopped) return;
      this.errors.push(String(err));
      setTimeout(() => {
        if (!this.stopped) void this.informer.start();
      }, 500);
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
    await Promise.allSettled([...this.inflight]);
  }

  stagesOf(task: string): StagePod[] {
    return [...this.seen.values()].filter((s) => s.task === task);
  }

  /** ADD events per task: more than its distinct Pod names means a stage Pod was created twice. */
  private readonly addsByTask = new Map<string, number>();

  adds(task: string): number {
    return this.addsByTask.get(task) ?? 0;
  }

  private onPod(pod: k8s.V1Pod): void {
    const name = pod.metadata!.name!;
    // The owner names the task in full; the label is a shortened name when that is over 63 characters.
    const taskOf = pod.metadata?.ownerReferences?.find((o) => o.kind === 'CodingTask')?.name ?? pod.metadata?.labels?.[TASK_LABEL] ?? '';
    this.addsByTask.set(taskOf, (this.addsByTask.get(taskOf) ?? 0) + 1);
    // A Pod of the same name but another uid is a new Pod (a task deleted and applied again).
    if (this.seen.get(name)?.pod.metadata?.uid === pod.metadata?.uid) return;
    this.finishSeenAt.delete(name);
    this.finishedAt.delete(name);
    const l = pod.metadata!.labels ?? {};
    const stage: StagePod = {
      name,
      task: taskOf,
      role: l[ROLE_LABEL] as Role,
      iteration: Number(l[ITERATION_LABEL]),
      attempt: Number(l[ATTEMPT_LABEL]),
      pod,
    };
    this.seen.set(name, stage);
    this.createdAt.set(name, Date.now());
    // The watch delivers events in resourceVersion order, so the cache already shows every Pod
    // that finished before the operator created this one.
    if (stage.role === 'run' || stage.role === 'acceptance') {
      const live = this.informer.list(this.namespace).filter((p) => {
        const role = p.metadata?.labels?.[ROLE_LABEL];
        return (role === 'run' || role === 'acceptance') && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata?.deletionTimestamp;
      }).length;
      this.maxLiveGpuPods = Math.max(this.maxLiveGpuPods, live);
    }
    const ending = this.script(stage);
    if ('leave' in ending) return;
    const p = this.finish(stage, ending)
      .then(() => this.finishedAt.set(name, Date.now()))
      .catch((err: unknown) => {
        if (statusCode(err) !== 404) this.errors.push(`${name}: ${String(err)}`);
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private finish(stage: StagePod, ending: Exclude<Ending, { leave: true }>): Promise<unknown> {
    const opts = { container: AGENT_CONTAINER, timeoutMs: 60_000 };
    if ('oom' in ending) return oomKillPod(this.namespace, stage.name, opts);
    if ('crash' in ending) return failPod(this.namespace, stage.name, { ...opts, exitCode: ending.crash });
    if ('exec' in ending) {
      return waitForPod(this.namespace, stage.name, (p) => p.status?.phase === 'Running', opts.timeoutMs)
        .then(() => runContainer(stage.pod, AGENT_CONTAINER))
        .then((run) => {
          this.runs.set(stage.name, run);
          return completePod(this.namespace, stage.name, { ...opts, exitCode: run.exitCode ?? 137, terminationMessage: run.terminationMessage });
        });
    }
    // The agent exits 0 whatever the outcome: the result is in the message, not the exit code.
    if (ending.delayMs || ending.until) {
      const delay = ending.delayMs ?? 0;
      return waitForPod(this.namespace, stage.name, (p) => p.status?.phase === 'Running', opts.timeoutMs)
        .then(() => Promise.all([new Promise((r) => setTimeout(r, delay)), ending.until]))
        .then(() => completePod(this.namespace, stage.name, { ...opts, terminationMessage: JSON.stringify(ending.result) }));
    }
    return completePod(this.namespace, stage.name, { ...opts, terminationMessage: JSON.stringify(ending.result) });
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * The Events posted about a task, oldest first. Sorted by resourceVersion, which etcd assigns in
 * creation order: timestamps on core/v1 Events have only one-second precision.
 */
export async function taskEvents(namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  const list = await kube().core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},involvedObject.kind=CodingTask` });
  return list.items.sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
}
