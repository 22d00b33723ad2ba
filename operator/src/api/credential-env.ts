// The credential variables of the hand-over: which env names carry which secret or setting to an
// agent. In api/ because the Pod builder, the local stage env, `autorun run`'s checks and the
// engines must all agree on them. Names and pure mappings only; reading a key file is the agent's
// (agent/credentials.ts).
import type { AgentPool } from './types.js';
import type { Provider, PullRequestProvider } from './agent-context.js';

/** The git token (spec.repository.credentialsSecretRef) in the stages that clone or push. */
export const GIT_TOKEN_ENV = 'AUTORUN_GIT_TOKEN';

/** The publish stage's pull-request token, then the providers' customary variables (local tier). */
export const PR_TOKEN_ENV = 'AUTORUN_PR_TOKEN';
export const PR_TOKEN_FALLBACKS: Record<PullRequestProvider, string[]> = { github: ['GITHUB_TOKEN', 'GH_TOKEN'], gitlab: ['GITLAB_TOKEN'] };

/** A key meant for this agent whatever the provider; it wins over the provider's usual variable. */
export const MODEL_API_KEY_ENV = 'AUTORUN_MODEL_API_KEY';
/**
 * A file holding that key (a Pod's Secret mount, mode 0400): the key then is in no process's
 * environment, PID 1's included, and the command sandbox covers the file's directory.
 */
export const MODEL_API_KEY_FILE_ENV = 'AUTORUN_MODEL_API_KEY_FILE';

/** A short-lived Google access token used instead of ADC: for tests and token-minting proxies. */
export const VERTEX_TOKEN_ENV = 'AUTORUN_VERTEX_ACCESS_TOKEN';
/** The Vertex settings under the names Claude Code and Anthropic's Vertex client read. */
export const VERTEX_REGION_ENV = 'CLOUD_ML_REGION';
export const VERTEX_PROJECT_ENV = 'ANTHROPIC_VERTEX_PROJECT_ID';

/**
 * apiKey: the provider's API key. authToken: a bearer token, as gateways in front of the Anthropic
 * API take; Claude Code sends only that one as `Authorization: Bearer` (a key goes as x-api-key).
 */
export type CredentialKind = 'apiKey' | 'authToken';

export interface CredentialVar {
  env: string;
  kind: CredentialKind;
}

export interface ModelCredential extends CredentialVar {
  value: string;
}

const ANTHROPIC_VARS: readonly CredentialVar[] = [
  { env: MODEL_API_KEY_ENV, kind: 'apiKey' },
  { env: 'ANTHROPIC_API_KEY', kind: 'apiKey' },
  // Read last, as the Anthropic SDK and Claude Code do when both are set.
  { env: 'ANTHROPIC_AUTH_TOKEN', kind: 'authToken' },
];
const OPENAI_VARS: readonly CredentialVar[] = [
  { env: MODEL_API_KEY_ENV, kind: 'apiKey' },
  { env: 'OPENAI_API_KEY', kind: 'apiKey' },
];

/**
 * The variables that may hold the model credential of a provider, in the order they are read.
 * Vertex has none: it authenticates with Google credentials (see googleCredentials).
 */
export function credentialVars(provider: Provider): readonly CredentialVar[] {
  if (provider === 'anthropic') return ANTHROPIC_VARS;
  if (provider === 'openai-compatible') return OPENAI_VARS;
  return [];
}

/** What an engine says when it finds no credential for its provider. */
export function noCredential(provider: Provider): string {
  return `no model credential: set ${credentialVarList(provider)} (in a Pod, the pool's apiKeySecretRef provides it)`;
}

/** The first credential set for the provider, or undefined. */
export function modelCredential(env: NodeJS.ProcessEnv, provider: Provider): ModelCredential | undefined {
  for (const v of credentialVars(provider)) {
    const value = env[v.env];
    if (value) return { ...v, value };
  }
  return undefined;
}

/** "A, B or C": the variables to name when none is set. */
export function credentialVarList(provider: Provider): string {
  const names = credentialVars(provider).map((v) => v.env);
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** A pool's Vertex settings as the env the agent reads; empty for other providers. */
export function vertexEnv(model: AgentPool['spec']['model'] | undefined): Record<string, string> {
  if (model?.provider !== 'vertex') return {};
  const env: Record<string, string> = {};
  if (model.vertex?.projectID) env[VERTEX_PROJECT_ENV] = model.vertex.projectID;
  if (model.vertex?.region) env[VERTEX_REGION_ENV] = model.vertex.region;
  return env;
}

