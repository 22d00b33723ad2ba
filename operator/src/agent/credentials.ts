// How an agent reaches its model, in one place for everyone who must agree on it: the engines read
// these variables, `autorun run` checks them before starting anything, and both shells (the Pod
// builder and the local stage env) turn a pool's Vertex settings into them. Plain data and small
// file probes only: the local tier and the operator import this without pulling in any model SDK.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentPool } from '../api/types.js';
import type { Provider, PullRequestProvider } from './context.js';

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

/** env with the key file's contents as AUTORUN_MODEL_API_KEY (in this process's memory only). */
export function withModelKeyFile(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const file = env[MODEL_API_KEY_FILE_ENV];
  if (!file) return env;
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`${MODEL_API_KEY_FILE_ENV} names ${file}, which cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!key) throw new Error(`${MODEL_API_KEY_FILE_ENV} names ${file}, which is empty`);
  return { ...env, [MODEL_API_KEY_ENV]: key };
}
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

/** Where google-auth-library finds Application Default Credentials; the files are parameters for tests. */
export interface GoogleProbe {
  /** The gcloud CLI's ADC file; derived from CLOUDSDK_CONFIG / HOME / APPDATA when unset. */
  adcFile?: string;
  /** Its "Google" vendor string marks a Compute Engine VM, whose metadata server hands out tokens. */
  biosVendorFile?: string;
}

function gcloudAdcFile(env: NodeJS.ProcessEnv): string | undefined {
  const dir = env.CLOUDSDK_CONFIG || (process.platform === 'win32' ? env.APPDATA && join(env.APPDATA, 'gcloud') : env.HOME && join(env.HOME, '.config', 'gcloud'));
  return dir ? join(dir, 'application_default_credentials.json') : undefined;
}

function onComputeEngine(biosVendorFile: string): boolean {
  try {
    return /Google/.test(readFileSync(biosVendorFile, 'utf8'));
  } catch {
    return false;
  }
}

/** token: our token variable; keyFile: GOOGLE_APPLICATION_CREDENTIALS; gcloud: its ADC file; metadata: a metadata server. */
export type GoogleCredentials = { source: string; kind: 'token' | 'keyFile' | 'gcloud' | 'metadata' } | { problem: string };

/**
 * Which Google credentials Vertex would use, in google-auth-library's order (our token variable
 * first), without any network call; or why there are none. A metadata server is assumed on
 * Compute Engine and wherever GCE_METADATA_HOST names one (Workload Identity on GKE is the former).
 */
export function googleCredentials(env: NodeJS.ProcessEnv, probe: GoogleProbe = {}): GoogleCredentials {
  if (env[VERTEX_TOKEN_ENV]) return { source: VERTEX_TOKEN_ENV, kind: 'token' };
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (keyFile) {
    return existsSync(keyFile) ? { source: 'GOOGLE_APPLICATION_CREDENTIALS', kind: 'keyFile' } : { problem: `GOOGLE_APPLICATION_CREDENTIALS names ${keyFile}, which does not exist` };
  }
  const adc = probe.adcFile ?? gcloudAdcFile(env);
  if (adc && existsSync(adc)) return { source: adc, kind: 'gcloud' };
  if (env.GCE_METADATA_HOST || env.GCE_METADATA_IP) return { source: 'the metadata server named by GCE_METADATA_HOST', kind: 'metadata' };
  if (onComputeEngine(probe.biosVendorFile ?? '/sys/class/dmi/id/bios_vendor')) return { source: 'the Compute Engine metadata server', kind: 'metadata' };
  return { problem: 'no Google credentials were found (no GOOGLE_APPLICATION_CREDENTIALS, no gcloud application-default login, not on Compute Engine)' };
}

/**
 * Whether Claude Code, started by the claude-code engine, finds these credentials too. The engine
 * keeps credential variables from the session (the model's commands inherit its env) and gives it a
 * fresh HOME, so of the four only a metadata server, or a gcloud directory named by CLOUDSDK_CONFIG,
 * still reaches it; our token variable is the tool loop's alone.
 */
export function claudeCodeFindsGoogleCredentials(c: GoogleCredentials, env: NodeJS.ProcessEnv): boolean {
  if ('problem' in c) return false;
  return c.kind === 'metadata' || (c.kind === 'gcloud' && !!env.CLOUDSDK_CONFIG);
}
