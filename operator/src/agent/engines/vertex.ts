// Claude on Vertex AI for the built-in tool loop: the same Messages API behind Google's endpoint,
// so only the client differs (path per project/region/model, Google OAuth instead of an API key).
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { OAuth2Client } from 'google-auth-library';
import type { AgentContext } from '../context.js';
import { VERTEX_PROJECT_ENV, VERTEX_REGION_ENV, VERTEX_TOKEN_ENV } from '../credentials.js';
import type { ApiFailure } from './api-errors.js';

/** What the Vertex client throws when ADC yields no token (wording of @anthropic-ai/vertex-sdk 1.x). */
const NO_GOOGLE_CREDENTIALS = /Failed to acquire Google OAuth credentials/;

export interface VertexSettings {
  /** Optional: ADC can supply the project (the Workload Identity service account's). */
  projectId?: string;
  region: string;
  /** Replaces https://{region}-aiplatform.googleapis.com/v1 (keep the /v1). */
  baseURL?: string;
}

/** The settings the operator passes to LLM Pods (the names Claude Code reads too), or why they are incomplete. */
export function vertexSettings(model: AgentContext['model'], env: NodeJS.ProcessEnv): VertexSettings | ApiFailure {
  const region = env[VERTEX_REGION_ENV];
  if (!region) {
    return { reason: 'InvalidConfig', summary: `provider vertex needs a region: set the pool spec.model.vertex.region (env ${VERTEX_REGION_ENV})` };
  }
  return {
    region,
    projectId: env[VERTEX_PROJECT_ENV] || undefined,
    baseURL: model.baseURL || env.ANTHROPIC_VERTEX_BASE_URL || undefined,
  };
}

/**
 * Credentials are Google Application Default Credentials (Workload Identity on GKE) unless the env
 * carries an access token. Everything is passed explicitly so the client reads nothing else from
 * the process environment.
 */
export function vertexClient(s: VertexSettings, env: NodeJS.ProcessEnv, maxRetries: number): AnthropicVertex {
  const token = env[VERTEX_TOKEN_ENV];
  let authClient: OAuth2Client | undefined;
  if (token) {
    // A bare access token never refreshes and needs no network to be used: no metadata server probe.
    authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: token });
  }
  return new AnthropicVertex({ region: s.region, projectId: s.projectId ?? null, baseURL: s.baseURL ?? null, maxRetries, ...(authClient ? { authClient } : {}) });
}

/** ADC failures surface as connection errors after the retries; name the real cause instead. */
export function vertexCredentialFailure(e: unknown): ApiFailure | undefined {
  if (!(e instanceof Error) || !NO_GOOGLE_CREDENTIALS.test(e.message)) return undefined;
  const cause = e.cause instanceof Error ? `: ${e.cause.message.replace(/\s+/g, ' ').slice(0, 300)}` : '';
  return {
    reason: 'Unauthorized',
    summary: `no Google credentials for Vertex AI; check the pool's Workload Identity (or GOOGLE_APPLICATION_CREDENTIALS)${cause}`,
  };
}
