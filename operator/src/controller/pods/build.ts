// The Pod of one stage, built from the task, the pool's role template and the stage context. Pure:
// the same inputs give the same Pod, so a re-created Pod after an operator restart is identical.
//
// Two shapes:
// - code, test, repair (LLM roles): the agent container, the agent image, running `autorun agent
//   --role R` with the model key (a Secret file) and the git token; it clones, works and pushes by
//   itself. Every command the model runs goes to a second container of the Pod, the exec container
//   (a native sidecar from the same image, `autorun exec-server`), which holds no secret: no Secret
//   mounted, no secret env, no service-account token, its own PID namespace (so no process holding a
//   secret in its /proc) and its own /tmp. The two share the workspace and the socket's directory.
// - run, acceptance: they execute generated code, so the container that does so holds nothing worth
//   stealing. An init container (agent image, git token) checks the commits out into an emptyDir
//   and copies the agent program into another emptyDir (Tekton's entrypoint pattern); the main
//   container, the project's toolchain image, runs that copy with no secret, no service-account
//   token, non-root, read-only root, no capabilities, seccomp RuntimeDefault.
// - publish: one container, the agent image, holding only the pull-request token
//   (spec.repository.pullRequest.credentialsSecretRef): no git token, no model key, no workspace.
import type { V1Container, V1EnvVar, V1Pod, V1ResourceRequirements, V1SecurityContext, V1Toleration, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { contextToEnv } from '../../api/agent-context.js';
import { GIT_TOKEN_ENV, MODEL_API_KEY_FILE_ENV, PR_TOKEN_ENV, vertexEnv } from '../../api/credential-env.js';
import { SANDBOX_ENV } from '../../agent/sandbox.js';
import { EXEC_SOCKET_ENV } from '../../agent/exec-container/protocol.js';
import { LOCAL_THREADS_ENV, MODEL_CACHE_ENV } from '../../agent/engines/local-settings.js';
import type { AgentPool, CodingTask } from '../../api/types.js';
import type { StageContext, StageKey } from '../../core/types.js';
import { buildAgentContext, type StagePlaces } from '../../contract/agent-context.js';
import {
  ATTEMPT_LABEL,
  GPU_RESOURCE_ANNOTATION,
  ITERATION_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POOL_LABEL,
  ROLE_LABEL,
  TASK_LABEL,
  labelValue,
} from './labels.js';
import { ownerReference } from './owner.js';
import { REPORT_KEY } from './report.js';
import { gpuResource, poolDefaults, roleSettings } from '../../api/pool-roles.js';
import type { RoleSettings } from '../../api/pool-roles.js';
import { mebibytes, quantityBytes } from '../../api/quantity.js';

/** The container whose termination message carries the StageResult. */
export const AGENT_CONTAINER = 'agent';
/** The run and acceptance Pods' init container: checkout and runner copy. */
export const CHECKOUT_CONTAINER = 'checkout';
/** The LLM Pods' sidecar that runs the model's commands, holding no secret. */
export const EXEC_CONTAINER = 'exec';
/** The exec container's socket directory: written there, read-only in the agent container. */
export const EXEC_SOCKET_DIR = '/var/run/autorun/exec';
export const EXEC_SOCKET = `${EXEC_SOCKET_DIR}/exec.sock`;
/** The socket directory holds one socket: in memory, so no disk to account for. */
const EXEC_SOCKET_SIZE = '1Mi';

export const WORKSPACE_DIR = '/workspace';
export const TMP_DIR = '/tmp';
/** Where the init container copies the agent program (node binary and all) for the toolchain image. */
export const RUNNER_DIR = '/autorun';
/** Where the agent program lives in the agent image (images/Dockerfile). */
export const AGENT_INSTALL_DIR = '/opt/autorun';
export const ACCEPTANCE_DIR = '/autorun-acceptance';
export const REPORT_DIR = '/autorun-report';
export const TERMINATION_LOG = '/dev/termination-log';
/** The user of every stage container (the distroless "nonroot" uid, as in the chart). */
export const STAGE_UID = 65532;

export { GIT_TOKEN_ENV };
const GIT_TOKEN_DEFAULT_KEY = 'token';

/**
 * The init container's script: copy the agent program, then let it do the checkout (it owns the
 * git scheme: the deterministic merge of the code and tests refs). $1 is the role. The main
 * container then runs the copy with --phase test (operator/src/agent/main.ts).
 */
export const CHECKOUT_SCRIPT = `set -eu\ncp -R ${AGENT_INSTALL_DIR}/. ${RUNNER_DIR}/\nexec autorun agent --role "$1" --phase checkout`;

export interface StagePodInput {
  task: CodingTask;
  pool: AgentPool;
  key: StageKey;
  /** The stage name (stageName(task, key)); also the Pod name. */
  name: string;
  context: StageContext;
  /** Repair and a flagged-test revision (receivesFailureReport): the ConfigMap holding the failure report (reportConfigMapName). */
  reportConfigMap?: string;
  /** Image for agent containers when the pool names none (the operator's matching agent image). */
  operatorImage?: string;
}

const VOLUME = { workspace: 'workspace', tmp: 'tmp', runner: 'runner', acceptance: 'acceptance-tests', report: 'failure-report', modelKey: 'model-key', execTmp: 'exec-tmp', execSocket: 'exec-socket', models: 'models' } as const;

function quantities(q: { [k: string]: number | string | undefined } | undefined, drop: string): Record<string, string> | undefined {
  if (!q) return undefined;
  const out: Record<string, string> = {};
  // GPUs come from the role's gpus alone, so the pool's GPU accounting sees every GPU requested.
  for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== drop) out[k] = String(v);
  return Object.keys(out).length ? out : undefined;
}

/** The runner emptyDir: the copied agent program (node and the bundle, about 120 MB). */
const RUNNER_SIZE = '1Gi';
/** Room in a container's ephemeral-storage limit for its logs and writable layer, beside the volumes. */
const CONTAINER_LAYER_SIZE = 2 ** 30;

/**
 * Without an ephemeral-storage limit of the pool's own, the container's is the Pod's scratch volumes
 * plus its logs and layer: the kubelet evicts a Pod using more than its containers' limits add up
 * to (emptyDirs included), so a limit below the volumes' sizes would evict a Pod within them.
 */
function ephemeralLimit(s: RoleSettings, volumes: string[], requests: Record<string, string> | undefined): string {
  const own = s.resources.limits?.['ephemeral-storage'];
  if (own !== undefined) return String(own);
  const total = volumes.reduce((sum, q) => sum + quantityBytes(q), CONTAINER_LAYER_SIZE);
  const request = requests?.['ephemeral-storage'];
  return mebibytes(Math.max(total, request === undefined ? 0 : quantityBytes(request)));
}

function resources(s: RoleSettings, gpu: string, withGpus: boolean, volumes: string[]): V1ResourceRequirements {
  const requests = quantities(s.resources.requests, gpu);
  const limits = { ...quantities(s.resources.limits, gpu), 'ephemeral-storage': ephemeralLimit(s, volumes, requests) };
  const r: V1ResourceRequirements = {};
  if (withGpus && s.gpus > 0) {
    // Extended resources must have requests equal to limits.
    r.requests = { ...requests, [gpu]: String(s.gpus) };
    r.limits = { ...limits, [gpu]: String(s.gpus) };
    return r;
  }
  if (requests) r.requests = requests;
  r.limits = limits;
  return r;
}

/** The stage's AgentContext (contract/agent-context.ts, as in the local tier) as env. */
function contextEnv(input: StagePodInput): Record<string, string> {
  const { task } = input;
  const places: StagePlaces = {
    repositoryUrl: task.spec.repository?.url,
    workspace: WORKSPACE_DIR,
    terminationPath: TERMINATION_LOG,
    failureReportPath: input.reportConfigMap ? `${REPORT_DIR}/${REPORT_KEY}` : undefined,
    acceptanceDir: task.spec.test?.acceptance ? ACCEPTANCE_DIR : undefined,
  };
  return contextToEnv(buildAgentContext({ task, pool: input.pool, key: input.key, context: input.context, places }));
}

function secretEnv(name: string, secret: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

function pullRequestTokenEnv(task: CodingTask): V1EnvVar[] {
  const ref = task.spec.repository?.pullRequest?.credentialsSecretRef;
  return ref ? [secretEnv(PR_TOKEN_ENV, ref.name, ref.key ?? GIT_TOKEN_DEFAULT_KEY)] : [];
}

function gitTokenEnv(task: CodingTask): V1EnvVar[] {
  const ref = task.spec.repository?.credentialsSecretRef;
  return ref ? [secretEnv(GIT_TOKEN_ENV, ref.name, ref.key ?? GIT_TOKEN_DEFAULT_KEY)] : [];
}

/** Vertex AI settings as plain env (agent/credentials.ts names them); not secret: Workload Identity authenticates. */
function vertexPodEnv(pool: AgentPool): V1EnvVar[] {
  return literal(vertexEnv(pool.spec.model));
}

/** Where the model key's Secret is mounted in LLM Pods; the agent reads it (AUTORUN_MODEL_API_KEY_FILE). */
export const MODEL_KEY_DIR = '/var/run/autorun/model';
const MODEL_KEY_FILE = 'api-key';

/**
 * The model key as a file, not an env var: PID 1's environment (readable by anything of the same
 * user in the container) holds no key, and the agent's command sandbox covers the directory. 0400:
 * the kubelet adds group read for fsGroup (the stage user's group), nobody else reads it.
 */
function modelKey(pool: AgentPool): { env: V1EnvVar[]; volume?: V1Volume; mount?: V1VolumeMount } {
  const model = pool.spec.model ?? {};
  const provider = model.provider ?? poolDefaults().modelProvider;
  const ref = model.apiKeySecretRef;
  // Vertex authenticates with Workload Identity: a key there would be unused and one more secret held.
  if (!ref || provider === 'vertex' || provider === 'local') return { env: [] };
  return {
    env: [{ name: MODEL_API_KEY_FILE_ENV, value: `${MODEL_KEY_DIR}/${MODEL_KEY_FILE}` }],
    volume: { name: VOLUME.modelKey, secret: { secretName: ref.name, items: [{ key: ref.key ?? poolDefaults().apiKeyKey, path: MODEL_KEY_FILE }], defaultMode: 0o400 } },
    mount: mount(VOLUME.modelKey, MODEL_KEY_DIR, true),
  };
}

/** Where spec.model.volume is mounted in LLM Pods: the local engine's model cache. */
export const MODELS_DIR = '/models';

/**
 * For provider local: the model volume (read-only, as the model cache) and llama.cpp's thread
 * count. The threads follow the role's CPU limit, else its request: inside a container Node sees
 * the node's cores, and more threads than the CPU the Pod may use only make them wait on each other.
 */
function localModel(pool: AgentPool, s: RoleSettings): { env: V1EnvVar[]; volume?: V1Volume; mount?: V1VolumeMount } {
  const model = pool.spec.model ?? {};
  if ((model.provider ?? poolDefaults().modelProvider) !== 'local') return { env: [] };
  const cpu = s.resources.limits?.cpu ?? s.resources.requests?.cpu;
  const threads = cpu === undefined ? undefined : Math.max(1, Math.ceil(cpuCores(String(cpu))));
  const env: V1EnvVar[] = threads ? [{ name: LOCAL_THREADS_ENV, value: String(threads) }] : [];
  const v = model.volume;
  if (!v) return { env };
  return {
    env: [...env, { name: MODEL_CACHE_ENV, value: MODELS_DIR }],
    volume: { name: VOLUME.models, ...(v.claimName ? { persistentVolumeClaim: { claimName: v.claimName, readOnly: true } } : { hostPath: { path: v.hostPath!, type: 'Directory' } }) },
    mount: mount(VOLUME.models, MODELS_DIR, true),
  };
}

/** Cores of a CPU quantity: "2", "1.5", "500m". */
function cpuCores(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}

/**
 * Env in a fixed order: the operator's variables, then the role's own. A role variable may replace a
 * convenience default such as HOME but never a variable the operator set for the stage (the context,
 * a credential), and the last of duplicate role variables wins, as it would in the kubelet.
 */
function mergeEnv(fixed: V1EnvVar[], defaults: V1EnvVar[], role: RoleSettings['env']): V1EnvVar[] {
  const reserved = new Set(fixed.map((e) => e.name));
  const user = new Map<string, V1EnvVar>();
  for (const e of role) {
    if (reserved.has(e.name)) continue;
    user.delete(e.name);
    if (e.valueFrom) user.set(e.name, secretEnv(e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key));
    else user.set(e.name, { name: e.name, value: e.value ?? '' });
  }
  return [...fixed, ...defaults.filter((d) => !user.has(d.name)), ...user.values()];
}

const literal = (env: Record<string, string>): V1EnvVar[] => Object.entries(env).map(([name, value]) => ({ name, value }));

function containerSecurity(readOnlyRoot: boolean): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    ...(readOnlyRoot ? { readOnlyRootFilesystem: true } : {}),
  };
}

const mount = (name: string, mountPath: string, readOnly = false): V1VolumeMount => (readOnly ? { name, mountPath, readOnly } : { name, mountPath });

function tolerations(s: RoleSettings): V1Toleration[] {
  return s.tolerations.map((t) => {
    const out: V1Toleration = {};
    if (t.key !== undefined) out.key = t.key;
    if (t.operator !== undefined) out.operator = t.operator;
    if (t.value !== undefined) out.value = t.value;
    if (t.effect !== undefined) out.effect = t.effect;
    if (t.tolerationSeconds !== undefined) out.tolerationSeconds = t.tolerationSeconds;
    return out;
  });
}

export function buildStagePod(input: StagePodInput): V1Pod {
  const { task, pool, key, name } = input;
  const s = roleSettings(pool, key.role, input.operatorImage);
  const gpu = gpuResource(pool);
  const context = literal(contextEnv(input));
  const termination = { terminationMessagePath: TERMINATION_LOG, terminationMessagePolicy: 'File' };
  const volumes: V1Volume[] = [
    { name: VOLUME.workspace, emptyDir: { sizeLimit: s.storage.workspace } },
    { name: VOLUME.tmp, emptyDir: { sizeLimit: s.storage.tmp } },
  ];
  const sizes = [s.storage.workspace, s.storage.tmp];
  const containers: V1Container[] = [];
  const initContainers: V1Container[] = [];

  if (key.role === 'publish') {
    containers.push({
      name: AGENT_CONTAINER,
      image: s.image,
      command: ['autorun', 'agent', '--role', key.role],
      workingDir: TMP_DIR,
      // publish runs no command (two REST calls), so there is nothing to sandbox.
      env: [...context, ...pullRequestTokenEnv(task), { name: 'HOME', value: TMP_DIR }, { name: SANDBOX_ENV, value: 'off' }],
      securityContext: containerSecurity(true),
      volumeMounts: [mount(VOLUME.tmp, TMP_DIR)],
      resources: resources(s, gpu, false, sizes),
      ...termination,
    });
  } else if (s.llm) {
    volumes.push({ name: VOLUME.execTmp, emptyDir: { sizeLimit: s.storage.tmp } }, { name: VOLUME.execSocket, emptyDir: { medium: 'Memory', sizeLimit: EXEC_SOCKET_SIZE } });
    sizes.push(s.storage.tmp);
    const mounts = [mount(VOLUME.workspace, WORKSPACE_DIR), mount(VOLUME.tmp, TMP_DIR), mount(VOLUME.execSocket, EXEC_SOCKET_DIR, true)];
    if (input.reportConfigMap) {
      volumes.push({ name: VOLUME.report, configMap: { name: input.reportConfigMap, defaultMode: 0o444 } });
      mounts.push(mount(VOLUME.report, REPORT_DIR, true));
    }
    const keyFile = modelKey(pool);
    if (keyFile.volume && keyFile.mount) {
      volumes.push(keyFile.volume);
      mounts.push(keyFile.mount);
    }
    const local = localModel(pool, s);
    if (local.volume && local.mount) {
      volumes.push(local.volume);
      mounts.push(local.mount);
    }
    // A native sidecar (an init container that keeps running): started before the agent, ended by the
    // kubelet once the agent has exited, so the agent's end is the Pod's. Only literal env: the role's
    // variables (a secretKeyRef among them) reach commands through the agent, scrubbed, as before.
    initContainers.push({
      name: EXEC_CONTAINER,
      image: s.image,
      command: ['autorun', 'exec-server', '--socket', EXEC_SOCKET],
      restartPolicy: 'Always',
      workingDir: WORKSPACE_DIR,
      env: [{ name: 'HOME', value: TMP_DIR }],
      securityContext: containerSecurity(false),
      volumeMounts: [mount(VOLUME.workspace, WORKSPACE_DIR), mount(VOLUME.execTmp, TMP_DIR), mount(VOLUME.execSocket, EXEC_SOCKET_DIR)],
      // The model's commands (builds, tests) run here: the role's resources, as in the agent container.
      resources: resources(s, gpu, false, sizes),
    });
    const main: V1Container = {
      name: AGENT_CONTAINER,
      image: s.image,
      command: s.command ?? ['autorun', 'agent', '--role', key.role],
      workingDir: WORKSPACE_DIR,
      // Commands go to the exec container (bubblewrap, the local tier's sandbox, cannot run under the
      // restricted RuntimeDefault seccomp profile, and is not needed: the container is the sandbox).
      env: mergeEnv([...context, ...vertexPodEnv(pool), ...keyFile.env, ...local.env, ...gitTokenEnv(task), { name: EXEC_SOCKET_ENV, value: EXEC_SOCKET }], [{ name: 'HOME', value: TMP_DIR }], s.env),
      securityContext: containerSecurity(false),
      volumeMounts: mounts,
      ...termination,
    };
    main.resources = resources(s, gpu, true, sizes);
    containers.push(main);
  } else {
    volumes.push({ name: VOLUME.runner, emptyDir: { sizeLimit: RUNNER_SIZE } });
    sizes.push(RUNNER_SIZE);
    const checkout: V1Container = {
      name: CHECKOUT_CONTAINER,
      image: s.agentImage,
      command: ['sh', '-c', CHECKOUT_SCRIPT, CHECKOUT_CONTAINER, key.role],
      workingDir: WORKSPACE_DIR,
      env: [...context, ...gitTokenEnv(task), { name: 'HOME', value: TMP_DIR }],
      securityContext: containerSecurity(true),
      volumeMounts: [mount(VOLUME.workspace, WORKSPACE_DIR), mount(VOLUME.tmp, TMP_DIR), mount(VOLUME.runner, RUNNER_DIR)],
      ...termination,
    };
    const acceptance = task.spec.test?.acceptance?.configMapRef;
    // Hidden tests reach the acceptance Pod only (the run Pod and every agent never see them), and
    // there only the checkout, which copies them into the workspace next to the project's tests.
    if (key.role === 'acceptance' && acceptance) {
      volumes.push({ name: VOLUME.acceptance, configMap: { name: acceptance.name, defaultMode: 0o444 } });
      checkout.volumeMounts!.push(mount(VOLUME.acceptance, ACCEPTANCE_DIR, true));
    }
    // The same CPU and memory as the main container: the Pod's request is the larger of the two, so
    // this costs nothing and keeps the Pod valid under a LimitRange or ResourceQuota.
    checkout.resources = resources(s, gpu, false, sizes);
    initContainers.push(checkout);

    const mounts = [mount(VOLUME.workspace, WORKSPACE_DIR), mount(VOLUME.tmp, TMP_DIR), mount(VOLUME.runner, RUNNER_DIR, true)];
    const cacheDefaults: V1EnvVar[] = [
      { name: 'HOME', value: TMP_DIR },
      { name: 'XDG_CACHE_HOME', value: `${TMP_DIR}/.cache` },
    ];
    const main: V1Container = {
      name: AGENT_CONTAINER,
      image: s.image,
      command: s.command ?? [`${RUNNER_DIR}/node`, `${RUNNER_DIR}/dist/bundle/autorun.mjs`, 'agent', '--role', key.role, '--phase', 'test'],
      workingDir: WORKSPACE_DIR,
      // The Pod is this container's sandbox (no secret, no token, the NetworkPolicy; bubblewrap is
      // not in a toolchain image): the agent runs the tests directly.
      env: mergeEnv([...context, { name: SANDBOX_ENV, value: 'off' }], cacheDefaults, s.env),
      securityContext: containerSecurity(true),
      volumeMounts: mounts,
      ...termination,
    };
    main.resources = resources(s, gpu, true, sizes);
    containers.push(main);
  }

  const labels: Record<string, string> = {
    [TASK_LABEL]: labelValue(task.metadata.name),
    [ROLE_LABEL]: key.role,
    [ITERATION_LABEL]: String(key.iteration),
    [ATTEMPT_LABEL]: String(key.attempt),
    [POOL_LABEL]: labelValue(pool.metadata.name),
    [MANAGED_BY_LABEL]: MANAGED_BY,
  };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: task.metadata.namespace,
      labels,
      ...(s.gpus > 0 ? { annotations: { [GPU_RESOURCE_ANNOTATION]: gpu } } : {}),
      ownerReferences: [ownerReference(task)],
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: s.timeoutSeconds,
      // No stage talks to the Kubernetes API; Workload Identity needs the metadata server, not a token.
      automountServiceAccountToken: false,
      // Service env vars would leak the namespace's services into generated code and bloat the env.
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: STAGE_UID,
        runAsGroup: STAGE_UID,
        fsGroup: STAGE_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(initContainers.length ? { initContainers } : {}),
      containers,
      volumes,
    },
  };
  const spec = pod.spec!;
  if (s.llm && pool.spec.serviceAccountName) spec.serviceAccountName = pool.spec.serviceAccountName;
  if (!s.llm && pool.spec.runtimeClassName) spec.runtimeClassName = pool.spec.runtimeClassName;
  // GPU roles get the pool's GPU-node selector and tolerations; every role adds its own (roleSettings).
  if (Object.keys(s.nodeSelector).length) spec.nodeSelector = { ...s.nodeSelector };
  const tols = tolerations(s);
  if (tols.length) spec.tolerations = tols;
  return pod;
}
