// Pools in the local tier: the ones in the given files, plus a built-in `default` for tasks that
// name a pool nobody defined (most local tasks name none and get `default` from the CRD default).
// The pool's slots (maxConcurrentTasks) work as in the cluster; its GPUs are this machine's.
import { API_VERSION, type AgentPool, type CodingTask } from '../api/types.js';
import { withDefaults } from '../api/defaults.js';

/**
 * The built-in pool: CRD defaults, the model named by AUTORUN_MODEL (or ANTHROPIC_MODEL, as Claude
 * Code reads it) and the provider endpoint by AUTORUN_MODEL_BASE_URL when set. Locally the API key
 * comes from ANTHROPIC_API_KEY, not a Secret, so apiKeySecretRef is only a placeholder.
 */
export function defaultPool(env: NodeJS.ProcessEnv = process.env): AgentPool {
  const model: NonNullable<AgentPool['spec']['model']> = { apiKeySecretRef: { name: 'anthropic' } };
  const name = env.AUTORUN_MODEL || env.ANTHROPIC_MODEL;
  if (name) model.name = name;
  const provider = env.AUTORUN_MODEL_PROVIDER;
  if (provider === 'anthropic' || provider === 'openai-compatible' || provider === 'vertex') model.provider = provider;
  if (env.AUTORUN_MODEL_BASE_URL) model.baseURL = env.AUTORUN_MODEL_BASE_URL;
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

/**
 * Refuses to start anything when no agent could reach its model: the Anthropic provider needs
 * ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN for a gateway). openai-compatible pools name their
 * endpoint in the pool (vLLM needs no key); vertex uses Google application default credentials.
 */
export function missingCredentials(pools: Iterable<AgentPool>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const needAnthropic = [...pools].filter((p) => (p.spec.model?.provider ?? 'anthropic') === 'anthropic');
  if (!needAnthropic.length || env.ANTHROPIC_API_KEY || env.ANTHROPIC_AUTH_TOKEN) return undefined;
  const names = [...new Set(needAnthropic.map((p) => p.metadata.name))].join(', ');
  return [
    `autorun run: ANTHROPIC_API_KEY is not set, and the code, test and repair agents of pool ${names} call the Anthropic API.`,
    '  Set it and run again:   export ANTHROPIC_API_KEY=sk-ant-...',
    '  Or use a model server of your own: an AgentPool with spec.model.provider: openai-compatible and',
    '  spec.model.baseURL (for example http://localhost:8000/v1 for vLLM), named by the task\'s spec.pool.',
    'Nothing was started.',
  ].join('\n');
}
