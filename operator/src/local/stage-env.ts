// What a local stage process gets: the agent context (built by contract/agent-context.ts, as the
// operator's Pods get it, through the same contextToEnv mapping), GPU devices, and only the secrets its role may hold.
import { CONTEXT_ENV, CONTEXT_FILE_ENV, GIT_DIR_ENV, contextToEnv, type AgentContext } from '../api/agent-context.js';
import { PR_TOKEN_ENV, vertexEnv } from '../api/credential-env.js';
import { buildAgentContext, type StagePlaces } from '../contract/agent-context.js';
import { executesGeneratedCode } from '../contract/roles.js';
import { scrubEnv } from '../util/secrets.js';
import { dirname, join, resolve } from 'node:path';
import { SANDBOX_HIDE_ENV } from '../agent/sandbox.js';
import type { AgentPool, CodingTask } from '../api/types.js';
import { roleSettings } from '../api/pool-roles.js';
import type { StageContext, StageKey } from '../core/types.js';
import { STAGE_MARKER_ENV } from './stage-process.js';
import type { StageFiles } from './state.js';

export interface StageEnvInput {
  task: CodingTask;
  pool: AgentPool;
  key: StageKey;
  context: StageContext;
  files: StageFiles;
  /** The git remote (resolved URL or path). */
  repositoryUrl: string;
  /** The last failed run's report, for repair. */
  failureReportPath?: string;
  /** Directory holding the hidden acceptance tests, for acceptance. */
  acceptanceDir?: string;
  /** Devices for CUDA_VISIBLE_DEVICES; undefined when the machine has no GPUs. */
  devices?: string[];
  /** Identifies the process as this stage's, for adoption after a restart. */
  marker: string;
  /** The state directory (every task's stages, remotes, state): covered in the command sandbox, but the stage's own workspace. */
  stateRoot?: string;
}

/** The stage's AgentContext (contract/agent-context.ts, as in the operator's Pods). */
export function agentContext(i: StageEnvInput): AgentContext {
  const places: StagePlaces = {
    repositoryUrl: i.repositoryUrl,
    workspace: i.files.workspace,
    terminationPath: i.files.result,
    failureReportPath: i.failureReportPath,
    reportPath: i.files.report,
    acceptanceDir: i.acceptanceDir,
  };
  return buildAgentContext({ task: i.task, pool: i.pool, key: i.key, context: i.context, places });
}

/**
 * The process environment: ours without any inherited AUTORUN_* context (a stale variable must not
 * leak into a stage) or Slack settings, without secrets for the roles that execute generated code (the run Pod holds
 * no secret either), plus the role's literal env from the pool, the pool's Vertex settings for the
 * roles that call the model (as in their Pods, over ours and the role's), the context and the GPU devices.
 */
export function stageEnv(i: StageEnvInput, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const contextVars = new Set([...CONTEXT_ENV.map((f) => f.env), CONTEXT_FILE_ENV, GIT_DIR_ENV, STAGE_MARKER_ENV]);
  // SLACK_*: `autorun run` reports to Slack itself; no agent needs the bot token.
  let env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(parent).filter(([k]) => !contextVars.has(k) && !k.startsWith('SLACK_')));
  if (executesGeneratedCode(i.key.role)) env = scrubEnv(env);
  // AUTORUN_PR_TOKEN is the publish stage's alone, as its Secret is in the cluster. GITHUB_TOKEN and
  // GITLAB_TOKEN stay where they were (a git credential helper may push with them); the run and
  // acceptance stages lose them with every other secret above.
  if (i.key.role !== 'publish') delete env[PR_TOKEN_ENV];
  const settings = roleSettings(i.pool, i.key.role);
  for (const e of settings.env) if (e.value !== undefined) env[e.name] = e.value;
  if (settings.llm) Object.assign(env, vertexEnv(i.pool.spec.model));
  Object.assign(env, contextToEnv(agentContext(i)));
  env[STAGE_MARKER_ENV] = i.marker;
  // The agent's repository beside the workspace, not in it: a .git/config a sandboxed command wrote
  // (a clean filter, core.fsmonitor) would run in the agent's git, outside the sandbox, next to the key.
  if (settings.llm) env[GIT_DIR_ENV] = join(dirname(i.files.workspace), 'git');
  // Commands and tests see their own workspace, not the sibling stages' (the test agent's tests, the
  // code agent's implementation) nor the other tasks'.
  if (i.stateRoot) env[SANDBOX_HIDE_ENV] = [resolve(i.stateRoot), env[SANDBOX_HIDE_ENV]].filter(Boolean).join(':');
  // A stage without GPUs sees none, as a Pod without a GPU request would.
  if (i.devices !== undefined) env.CUDA_VISIBLE_DEVICES = i.devices.join(',');
  return env;
}
