// The settings of one role in an AgentPool, with the CRD's defaults applied in code: the operator
// reads pools the apiserver has already defaulted, but a pool built in a test or read from an older
// object may lack fields, and a Pod must never depend on which. The unit tests check these values
// against the CRD's own defaults (withDefaults), so the two cannot drift apart.
import type { AgentPool, Role } from '../../api/types.js';
import { LLM_ROLES } from '../../api/types.js';

type PoolSpec = AgentPool['spec'];
type LlmRoleSpec = NonNullable<NonNullable<PoolSpec['roles']>['code']>;
export type EnvEntry = NonNullable<LlmRoleSpec['env']>[number];
type Quantities = { [k: string]: number | string | undefined };

export const DEFAULT_AGENT_IMAGE = 'ghcr.io/autorun-dev/autorun-agent:0.1.0';
export const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';
export const DEFAULT_MODEL = { provider: 'anthropic', name: 'claude-sonnet-4-6', apiKeyKey: 'api-key' } as const;

export const LLM_ROLE_DEFAULTS = { engine: 'sdk', gpus: 0, timeoutSeconds: 1800, maxTurns: 50, maxAttempts: 3 } as const;
export const RUN_ROLE_DEFAULTS = { gpus: 1, timeoutSeconds: 900, maxAttempts: 3 } as const;

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
  resources: { requests?: Quantities; limits?: Quantities };
  gpus: number;
  timeoutSeconds: number;
  maxAttempts: number;
  engine: 'sdk' | 'claude-code';
  maxTurns: number;
}

export function isLlmRole(role: Role): role is (typeof LLM_ROLES)[number] {
  return (LLM_ROLES as readonly string[]).includes(role);
}

/** The role's settings; acceptance runs the hidden tests with the run role's settings. */
export function roleSettings(pool: AgentPool, role: Role, fallbackImage?: string): RoleSettings {
  const spec = pool.spec ?? {};
  const agentImage = spec.agentImage ?? fallbackImage ?? DEFAULT_AGENT_IMAGE;
  if (isLlmRole(role)) {
    const r: LlmRoleSpec = spec.roles?.[role] ?? {};
    return {
      role,
      llm: true,
      image: r.image ?? agentImage,
      agentImage,
      command: r.command,
      env: r.env ?? [],
      resources: r.resources ?? {},
      gpus: r.gpus ?? LLM_ROLE_DEFAULTS.gpus,
      timeoutSeconds: r.timeoutSeconds ?? LLM_ROLE_DEFAULTS.timeoutSeconds,
      maxAttempts: r.maxAttempts ?? LLM_ROLE_DEFAULTS.maxAttempts,
      engine: r.engine ?? LLM_ROLE_DEFAULTS.engine,
      maxTurns: r.maxTurns ?? LLM_ROLE_DEFAULTS.maxTurns,
    };
  }
  const r = spec.roles?.run ?? {};
  return {
    role,
    llm: false,
    image: r.image ?? agentImage,
    agentImage,
    command: r.command,
    // The schema allows only literal values here; anything else is dropped, never passed on.
    env: (r.env ?? []).filter((e) => typeof e.value === 'string').map((e) => ({ name: e.name, value: e.value })),
    resources: r.resources ?? {},
    gpus: r.gpus ?? RUN_ROLE_DEFAULTS.gpus,
    timeoutSeconds: r.timeoutSeconds ?? RUN_ROLE_DEFAULTS.timeoutSeconds,
    maxAttempts: r.maxAttempts ?? RUN_ROLE_DEFAULTS.maxAttempts,
    engine: LLM_ROLE_DEFAULTS.engine,
    maxTurns: LLM_ROLE_DEFAULTS.maxTurns,
  };
}

export function gpuResource(pool: AgentPool | undefined): string {
  return pool?.spec?.gpu?.resource ?? DEFAULT_GPU_RESOURCE;
}

export function gpuLimit(pool: AgentPool | undefined): number {
  // Unset: the pool sets no limit of its own; the nodes' capacity and the scheduler still apply.
  return pool?.spec?.gpu?.limit ?? Number.POSITIVE_INFINITY;
}
