// Hand-written companions of the generated CRD types: the resource envelopes, and the stage-result
// contract every agent writes to its termination message (see ../shared/design.md).
import type { CodingTaskSpec, CodingTaskStatus } from './generated/codingtask.js';
import type { AgentPoolSpec, AgentPoolStatus } from './generated/agentpool.js';

export type { CodingTaskSpec, CodingTaskStatus, AgentPoolSpec, AgentPoolStatus };

export const GROUP = 'autorun.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface CodingTask {
  apiVersion: typeof API_VERSION;
  kind: 'CodingTask';
  metadata: ObjectMeta;
  spec: CodingTaskSpec;
  status?: CodingTaskStatus;
}

export interface AgentPool {
  apiVersion: typeof API_VERSION;
  kind: 'AgentPool';
  metadata: ObjectMeta;
  spec: AgentPoolSpec;
  status?: AgentPoolStatus;
}

export type Phase = NonNullable<CodingTaskStatus['phase']>;
export type Condition = NonNullable<CodingTaskStatus['conditions']>[number];
export type StageStatus = NonNullable<CodingTaskStatus['stages']>[number];
/** The roles of the agent program; acceptance is the run role executing the hidden tests. */
export type Role = StageStatus['role'];
export const LLM_ROLES = ['code', 'test', 'repair'] as const;
export type LlmRole = (typeof LLM_ROLES)[number];

/** The termination-message limit of the kubelet; agents truncate their result to fit. */
export const STAGE_RESULT_MAX_BYTES = 4096;

export interface TestCounts {
  passed: number;
  failed: number;
  total: number;
  /** Failing test names, truncated to fit the termination message. */
  failing: string[];
  /** Tests that failed and then passed when the run agent re-ran them once. */
  flaky?: string[];
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** US dollars, computed from the price table in operator/src/agent/pricing.ts. */
  costUSD: number;
}

/**
 * What an agent writes to its termination message (≤ 4 KiB JSON). The operator and the local tier
 * decide from this alone.
 * - Succeeded: the stage did its job (code committed; for run/acceptance: every test passed).
 * - Failed: the stage ran but its job failed (run: some tests fail; LLM role: gave up / turn cap).
 * - Error: the stage could not do its job (bad credentials, git unreachable, no tests collected).
 */
export interface StageResult {
  role: Role;
  outcome: 'Succeeded' | 'Failed' | 'Error';
  /** Commit the stage produced (code, test, repair) or tested (run, acceptance). */
  commit?: string;
  tests?: TestCounts;
  /** One line for humans. */
  summary: string;
  usage?: Usage;
  /** Machine-readable reason for Failed or Error, for example RateLimited, Unauthorized, TurnCap. */
  reason?: string;
  /** Repair may flag tests it believes are wrong instead of editing them. */
  flaggedTests?: string[];
  /** The pull (merge) request a publish stage opened or updated. */
  pullRequestURL?: string;
  /** Run/acceptance killed at its timeout (reason TestTimeout): the test that was running, when known. */
  hungTest?: string;
  /** True when the message was cut to fit STAGE_RESULT_MAX_BYTES. */
  truncated?: boolean;
}
