// How an agent finds its credentials: the key file a Pod mounts and Google's credential sources.
// The variable names themselves are the hand-over contract (api/credential-env.ts, re-exported
// here for the agent's own modules). Small file probes only: no model SDK is pulled in.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_API_KEY_ENV, MODEL_API_KEY_FILE_ENV, VERTEX_TOKEN_ENV } from '../api/credential-env.js';

export * from '../api/credential-env.js';

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
