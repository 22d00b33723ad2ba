// The settings of one role in an AgentPool, for both shells (the operator's Pod builder and the
// local tier's processes). Defaults come from the CRD schema itself (withDefaults), so a pool built
// in a test or read from an older object gets exactly what the apiserver would have filled in.
import type { AgentPool, Role } from './types.js';
import { LLM_ROLES } from './types.js';
import { withDefaults } from './defaults.js';
import { parseDuration } from '../core/limits.js';
import type { AgentContext } from './agent-context.js';

type PoolSpec = AgentPool['spec'];
type LlmRoleSpec = NonNullable<NonNullable<PoolSpec['roles']>['code']>;
export type EnvEntry = NonNullable<LlmRoleSpec['env']>[number];
export type Toleration = NonNullable<PoolSpec['tolerations']>[number];
type Quantities = { [k: string]: number | string | undefined };

interface CrdDefaults {
  agentImage: string;
  gpuResource: string;
  modelProvider: 'anthropic' | 'vertex' | 'openai-compatible' | 'local';
  modelName: string;
  apiKeyKey: string;
  llm: { engine: 'sdk' | 'claude-code'; gpus: number; timeoutSeconds: number; maxTurns: number; maxAttempts: number };
  run: { gpus: number; timeoutSeconds: number; maxAttempts: number };
  storage: { workspace: string; tmp: string };
}

/**
 * Requests of a resource the role leaves unset in both requests and limits (with only a limit the
 * apiserver copies it into the request). No stage Pod is BestEffort, the first evicted under pressure
 * and scheduled as if free; the crds/ description of `resources` states the same figures.
 */
export const DEFAULT_REQUESTS = {
  llm: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '512Mi' },
  run: { cpu: '500m', memory: '1Gi', 'ephemeral-storage': '512Mi' },
} as const;

let defaults: CrdDefaults | undefined;

/** What the CRD defaults an empty pool to; read once from crds/ (the source of truth). */
export function poolDefaults(): CrdDefaults {
  if (defaults) return defaults;
  const spec = withDefaults('AgentPool', { spec: { model: { apiKeySecretRef: { name: 'x' } } } } as AgentPool).spec;
  const code = spec.roles!.code!;
  const run = spec.roles!.run!;
  defaults = {
    agentImage: spec.agentImage!,
    gpuResource: spec.gpu!.resource!,
    modelProvider: spec.model.provider!,
    modelName: spec.model.name!,
    apiKeyKey: spec.model.apiKeySecretRef!.key!,
    llm: { engine: code.engine!, gpus: code.gpus!, timeoutSeconds: code.timeoutSeconds!, maxTurns: code.maxTurns!, maxAttempts: code.maxAttempts! },
    run: { gpus: run.gpus!, timeoutSeconds: run.timeoutSeconds!, maxAttempts: run.maxAttempts! },
    storage: { workspace: code.storage!.workspace!, tmp: code.storage!.tmp! },
  };
  return defaults;
}

export interface RoleSettings {
  role: Role;
  /** code, test and repair call a model and hold credentials; run and acceptance hold none. */
  llm: boolean;
  /** The image of the role's main container (for run/acceptance: the project's toolchain). */
  image: string;
  /** The pool's agent image: LLM roles' default image and the run role's checkout init container. */
  agentImage: string;
  command?: string[];
  env: EnvEntry[];
  /** The pool's resources with DEFAULT_REQUESTS filled in. */
  resources: { requests?: Quantities; limits?: Quantities };
  /** emptyDir sizes (quantities). */
  storage: { workspace: string; tmp: string };
  gpus: number;
  timeoutSeconds: number;
  maxAttempts: number;
  engine: 'sdk' | 'claude-code';
  maxTurns: number;
  /**
   * Where the role's Pods may run: the role's own nodeSelector and tolerations, added to the pool's
   * (which are for GPU nodes) when the role holds GPUs; the role's label value wins for the same key.
   */
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
}

function definedValues(m: { [k: string]: string | undefined } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

export function isLlmRole(role: Role): role is (typeof LLM_ROLES)[number] {
  return (LLM_ROLES as readonly string[]).includes(role);
}

/** The publish stage only calls the git host's API: seconds of work, no GPU, no model. */
export const PUBLISH_TIMEOUT_SECONDS = 300;

/**
 * The role's settings; acceptance runs the hidden tests with the run role's settings. publish has no
 * settings in the pool: it runs the agent image with the LLM roles' retry count, default requests and
 * storage (so its Pod is not BestEffort and its disk is bounded like every stage's).
 */
export function roleSettings(pool: AgentPool, role: Role, fallbackImage?: string): RoleSettings {
  const spec = pool.spec ?? {};
  const d = poolDefaults();
  const agentImage = spec.agentImage ?? fallbackImage ?? d.agentImage;
  if (role === 'publish') {
    return { role, llm: false, image: agentImage, agentImage, env: [], resources: withDefaultRequests({}, DEFAULT_REQUESTS.llm), storage: { ...d.storage }, gpus: 0, timeoutSeconds: PUBLISH_TIMEOUT_SECONDS, maxAttempts: d.llm.maxAttempts, engine: d.llm.engine, maxTurns: d.llm.maxTurns, nodeSelector: {}, tolerations: [] };
  }
  const llm = isLlmRole(role);
  const r: LlmRoleSpec = llm ? (spec.roles?.[role] ?? {}) : (spec.roles?.run ?? {});
  const defaults = llm ? d.llm : d.run;
  const gpus = r.gpus ?? defaults.gpus;
  const onGpuNodes = gpus > 0;
  return {
    role,
    llm,
    image: r.image ?? agentImage,
    agentImage,
    command: r.command,
    // The run role's schema allows only literal values; anything else is dropped, never passed on.
    env: llm ? (r.env ?? []) : (r.env ?? []).filter((e) => typeof e.value === 'string').map((e) => ({ name: e.name, value: e.value })),
    resources: withDefaultRequests(r.resources ?? {}, llm ? DEFAULT_REQUESTS.llm : DEFAULT_REQUESTS.run),
    storage: { workspace: r.storage?.workspace ?? d.storage.workspace, tmp: r.storage?.tmp ?? d.storage.tmp },
    gpus,
    timeoutSeconds: r.timeoutSeconds ?? defaults.timeoutSeconds,
    maxAttempts: r.maxAttempts ?? defaults.maxAttempts,
    // The run role calls no model: the engine and turn cap are the LLM defaults, unused.
    engine: (llm ? r.engine : undefined) ?? d.llm.engine,
    maxTurns: (llm ? r.maxTurns : undefined) ?? d.llm.maxTurns,
    nodeSelector: { ...(onGpuNodes ? definedValues(spec.nodeSelector) : {}), ...definedValues(r.nodeSelector) },
    tolerations: [...(onGpuNodes ? (spec.tolerations ?? []) : []), ...(r.tolerations ?? [])],
  };
}

function withDefaultRequests(r: { requests?: Quantities; limits?: Quantities }, defaults: Record<string, string>): RoleSettings['resources'] {
  const requests: Quantities = { ...r.requests };
  for (const [k, v] of Object.entries(defaults)) if (requests[k] === undefined && r.limits?.[k] === undefined) requests[k] = v;
  return r.limits ? { requests, limits: r.limits } : { requests };
}

export function gpuResource(pool: AgentPool | undefined): string {
  return pool?.spec?.gpu?.resource ?? poolDefaults().gpuResource;
}

export function gpuLimit(pool: AgentPool | undefined): number {
  // Unset: the pool sets no limit of its own; the nodes' capacity and the scheduler still apply.
  return pool?.spec?.gpu?.limit ?? Number.POSITIVE_INFINITY;
}

/** GPUs one stage of this role holds. */
export function gpusOf(pool: AgentPool, role: Role): number {
  return roleSettings(pool, role).gpus;
}

/** Seconds a stage rides out a model outage: the pool's spec.modelRetryWindow (CRD default 10m). */
export function modelRetryWindowSeconds(pool: AgentPool | undefined): number {
  const ms = parseDuration(pool?.spec?.modelRetryWindow ?? '10m') ?? 600_000;
  return Math.max(0, Math.round(ms / 1000));
}

type PoolModel = NonNullable<PoolSpec['model']>;

/** The agent's model settings from a pool's spec.model, the same in a Pod and a local process. */
export function modelContext(model: Partial<PoolModel>, maxTurns: number, budgetUSD: number | undefined, retryWindowSeconds: number, budgetStrict?: boolean): AgentContext['model'] {
  return {
    provider: model.provider ?? poolDefaults().modelProvider,
    name: model.name ?? poolDefaults().modelName,
    baseURL: model.baseURL,
    maxTurns,
    budgetUSD,
    ...(budgetStrict ? { budgetStrict } : {}),
    retryWindowSeconds,
    maxTokens: model.maxTokens,
    requestTimeoutSeconds: model.requestTimeoutSeconds,
    toolCalls: model.toolCalls,
    price: model.price ? { inputUSDPerMTok: Number(model.price.inputUSDPerMTok), outputUSDPerMTok: Number(model.price.outputUSDPerMTok) } : undefined,
  };
}
