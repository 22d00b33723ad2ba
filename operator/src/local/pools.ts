// Pools in the local tier: the ones in the given files, plus a built-in `default` for tasks that
// name a pool nobody defined (most local tasks name none and get `default` from the CRD default).
// The pool's slots (maxConcurrentTasks) work as in the cluster; its GPUs are this machine's.
import { API_VERSION, LLM_ROLES, type AgentPool, type CodingTask } from '../api/types.js';
import { withDefaults } from '../api/defaults.js';
import { poolDefaults, roleSettings } from '../api/pool-roles.js';
import {
  claudeCodeFindsGoogleCredentials,
  credentialVarList,
  googleCredentials,
  modelCredential,
  VERTEX_PROJECT_ENV,
  VERTEX_REGION_ENV,
  type GoogleProbe,
} from '../agent/credentials.js';
import { DEFAULT_LOCAL_MODEL } from '../agent/local-model/catalog.js';

/**
 * The built-in pool: CRD defaults, the model named by AUTORUN_MODEL (or ANTHROPIC_MODEL, as Claude
 * Code reads it), the provider by AUTORUN_MODEL_PROVIDER and its endpoint by AUTORUN_MODEL_BASE_URL
 * when set; for vertex, the project and region from the variables the agent reads them from.
 * With no provider named and no Anthropic credential, the local provider and its default model:
 * a fresh clone with no key runs on this machine's CPU instead of stopping.
 * Locally the API key comes from the environment, not a Secret, so apiKeySecretRef is a placeholder.
 */
export function defaultPool(env: NodeJS.ProcessEnv = process.env): AgentPool {
  const model: NonNullable<AgentPool['spec']['model']> = { apiKeySecretRef: { name: 'anthropic' } };
  const provider = env.AUTORUN_MODEL_PROVIDER;
  if (provider === 'anthropic' || provider === 'openai-compatible' || provider === 'vertex' || provider === 'local') model.provider = provider;
  else if (!provider && !modelCredential(env, 'anthropic') && !/^claude-/.test(env.AUTORUN_MODEL || env.ANTHROPIC_MODEL || '')) model.provider = 'local';
  const name = env.AUTORUN_MODEL || (model.provider === 'local' ? undefined : env.ANTHROPIC_MODEL);
  if (name) model.name = name;
  else if (model.provider === 'local') model.name = DEFAULT_LOCAL_MODEL;
  if (env.AUTORUN_MODEL_BASE_URL) model.baseURL = env.AUTORUN_MODEL_BASE_URL;
  if (env.AUTORUN_MODEL_TOOL_CALLS === 'native' || env.AUTORUN_MODEL_TOOL_CALLS === 'grammar') model.toolCalls = env.AUTORUN_MODEL_TOOL_CALLS;
  if (model.provider === 'vertex') {
    const projectID = env[VERTEX_PROJECT_ENV];
    const region = env[VERTEX_REGION_ENV];
    model.vertex = { ...(projectID ? { projectID } : {}), ...(region ? { region } : {}) };
  }
  return withDefaults('AgentPool', {
    apiVersion: API_VERSION,
    kind: 'AgentPool',
    metadata: { name: 'default' },
    spec: { model },
  } as AgentPool);
}

/** The pool of every task; an unknown pool name other than `default` is a mistake worth stopping for. */
export function resolvePools(tasks: CodingTask[], pools: AgentPool[], env: NodeJS.ProcessEnv = process.env): { byTask: Map<string, AgentPool>; problems: string[] } {
  const byName = new Map(pools.map((p) => [p.metadata.name, p]));
  const byTask = new Map<string, AgentPool>();
  const problems: string[] = [];
  let builtin: AgentPool | undefined;
  for (const t of tasks) {
    const name = t.spec.pool ?? 'default';
    let pool = byName.get(name);
    if (!pool && name === 'default') pool = builtin ??= defaultPool(env);
    if (!pool) {
      problems.push(`CodingTask ${t.metadata.name}: spec.pool: AgentPool ${JSON.stringify(name)} is not in the given files (leave spec.pool out to use the built-in default pool)`);
      continue;
    }
    byTask.set(t.metadata.name, pool);
  }
  return { byTask, problems };
}

const providerOf = (p: AgentPool): NonNullable<NonNullable<AgentPool['spec']['model']>['provider']> => p.spec.model?.provider ?? poolDefaults().modelProvider;
const namesOf = (pools: AgentPool[]): string => [...new Set(pools.map((p) => p.metadata.name))].join(', ');

function anthropicProblem(pools: AgentPool[], env: NodeJS.ProcessEnv): string[] {
  if (!pools.length || modelCredential(env, 'anthropic')) return [];
  return [
    `autorun run: no Anthropic credential is set (${credentialVarList('anthropic')}), and the code, test and repair agents of pool ${namesOf(pools)} call the Anthropic API.`,
    '  Set one and run again:   export ANTHROPIC_API_KEY=sk-ant-...',
    '  (or ANTHROPIC_AUTH_TOKEN for a gateway that takes a bearer token).',
    '  Or use a model server of your own: an AgentPool with spec.model.provider: openai-compatible and',
    "  spec.model.baseURL (for example http://localhost:8000/v1 for vLLM), named by the task's spec.pool.",
    ...(env.AUTORUN_MODEL_PROVIDER === 'anthropic' ? ['  Or unset AUTORUN_MODEL_PROVIDER to run the local engine: a small model on this machine, no key.'] : ['  Or use provider local: a small model run on this machine, no key.']),
  ];
}

/** What the agents of a Vertex pool would miss: the region (the stage env gets the pool's, else ours) and Google credentials. */
function vertexProblems(pools: AgentPool[], env: NodeJS.ProcessEnv, probe: GoogleProbe): string[] {
  if (!pools.length) return [];
  const out: string[] = [];
  for (const p of pools) {
    if (!p.spec.model?.vertex?.region && !env[VERTEX_REGION_ENV]) {
      out.push(`autorun run: pool ${p.metadata.name} uses Claude on Vertex AI but names no region: set its spec.model.vertex.region (or export ${VERTEX_REGION_ENV}=us-east5).`);
    }
  }
  const google = googleCredentials(env, probe);
  if ('problem' in google) {
    out.push(
      `autorun run: pool ${namesOf(pools)} uses Claude on Vertex AI, but ${google.problem}.`,
      '  Log in and run again:   gcloud auth application-default login',
      '  or name a service account key:   export GOOGLE_APPLICATION_CREDENTIALS=/path/to/key.json',
    );
    return out;
  }
  const claudeCode = pools.filter((p) => LLM_ROLES.some((r) => roleSettings(p, r).engine === 'claude-code'));
  if (claudeCode.length && !claudeCodeFindsGoogleCredentials(google, env)) {
    out.push(
      `autorun run: pool ${namesOf(claudeCode)} runs engine claude-code on Vertex AI, which does not get ${google.source}:`,
      '  the engine keeps credentials from the commands the model runs. Use engine sdk for those roles,',
      '  run on Compute Engine (its metadata server), or keep the gcloud login in a directory named by CLOUDSDK_CONFIG.',
    );
  }
  return out;
}

/**
 * Refuses to start anything when an agent could not reach its model: the credential variables the
 * engines read (agent/credentials.ts) for Anthropic pools; a region and Google credentials for
 * Vertex pools. openai-compatible pools name their endpoint in the pool, and vLLM needs no key.
 */
export function missingCredentials(pools: Iterable<AgentPool>, env: NodeJS.ProcessEnv = process.env, probe: GoogleProbe = {}): string | undefined {
  const all = [...pools];
  const on = (provider: string): AgentPool[] => all.filter((p) => providerOf(p) === provider);
  const problems = [...anthropicProblem(on('anthropic'), env), ...vertexProblems(on('vertex'), env, probe)];
  return problems.length ? [...problems, 'Nothing was started.'].join('\n') : undefined;
}
