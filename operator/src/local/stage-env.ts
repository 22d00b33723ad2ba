// What a local stage process gets: the agent context (the same AgentContext the operator puts in a
// Pod, through the same contextToEnv mapping), GPU devices, and only the secrets its role may hold.
import { CONTEXT_ENV, CONTEXT_FILE_ENV, contextToEnv, type AgentContext } from '../agent/context.js';
import { PR_TOKEN_ENV, vertexEnv } from '../agent/credentials.js';
import { scrubEnv } from '../util/secrets.js';
import { resolve } from 'node:path';
import { SANDBOX_HIDE_ENV } from '../agent/sandbox.js';
import type { AgentPool, CodingTask, Role } from '../api/types.js';
import { modelContext, modelRetryWindowSeconds, roleSettings } from '../api/pool-roles.js';
import type { StageContext, StageKey } from '../core/types.js';
import { STAGE_MARKER_ENV } from './stage-process.js';
import type { StageFiles } from './state.js';

const EXECUTES_GENERATED_CODE: readonly Role[] = ['run', 'acceptance'];

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
  /** Money left under spec.limits.maxCostUSD. */
  budgetUSD?: number;
  /** Devices for CUDA_VISIBLE_DEVICES; undefined when the machine has no GPUs. */
  devices?: string[];
  /** Identifies the process as this stage's, for adoption after a restart. */
  marker: string;
  /** The state directory (every task's stages, remotes, state): covered in the command sandbox, but the stage's own workspace. */
  stateRoot?: string;
}

export function agentContext(i: StageEnvInput): AgentContext {
  const spec = i.task.spec;
  const role = i.key.role;
  const settings = roleSettings(i.pool, role);
  const model = i.pool.spec.model ?? {};
  const ctx: AgentContext = {
    task: i.task.metadata.name,
    role,
    iteration: i.key.iteration,
    attempt: i.key.attempt,
    goal: spec.goal,
    language: spec.language ?? 'python',
    repository: { url: i.repositoryUrl, baseRef: spec.repository?.baseRef ?? 'main', branch: spec.repository?.branch },
    codeRef: i.context.codeRef,
    testsRef: i.context.testsRef,
    failing: i.context.failing,
    hiddenFailed: i.context.hiddenFailures?.failed,
    acceptanceHint: i.context.hiddenFailures?.hint,
    testsHung: i.context.testsHung ? true : undefined,
    hungTest: i.context.testsHung?.test,
    previousAttempts: i.context.previousAttempts,
    flaggedTests: i.context.flaggedTests,
    freshStart: i.context.freshStart,
    guidance: i.context.guidance,
    // After hidden acceptance tests failed, no report: nothing of them may reach a model.
    failureReportPath: role === 'repair' && !i.context.hiddenFailures ? i.failureReportPath : undefined,
    test: {
      command: spec.test?.command,
      timeoutSeconds: spec.test?.timeoutSeconds ?? 600,
      allowRepairToEditTests: spec.test?.allowRepairToEditTests ?? false,
      acceptanceDir: role === 'acceptance' ? i.acceptanceDir : undefined,
      acceptanceCommand: role === 'acceptance' ? spec.test?.acceptance?.command : undefined,
    },
    model: modelContext(model, settings.maxTurns, i.budgetUSD, modelRetryWindowSeconds(i.pool), i.context.budgetStrict),
    engine: settings.engine,
    workspace: i.files.workspace,
    terminationPath: i.files.result,
    reportPath: EXECUTES_GENERATED_CODE.includes(role) ? i.files.report : undefined,
  };
  const pr = spec.repository?.pullRequest;
  if (role === 'publish' && pr && i.context.pullRequest) {
    ctx.pullRequest = { provider: pr.provider, apiURL: pr.apiURL, repository: pr.repository, draft: pr.draft ?? false, ...i.context.pullRequest };
  }
  return ctx;
}

/**
 * The process environment: ours without any inherited AUTORUN_* context (a stale variable must not
 * leak into a stage) or Slack settings, without secrets for the roles that execute generated code (the run Pod holds
 * no secret either), plus the role's literal env from the pool, the pool's Vertex settings for the
 * roles that call the model (as in their Pods, over ours and the role's), the context and the GPU devices.
 */
export function stageEnv(i: StageEnvInput, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const contextVars = new Set([...CONTEXT_ENV.map((f) => f.env), CONTEXT_FILE_ENV, STAGE_MARKER_ENV]);
  // SLACK_*: `autorun run` reports to Slack itself; no agent needs the bot token.
  let env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(parent).filter(([k]) => !contextVars.has(k) && !k.startsWith('SLACK_')));
  if (EXECUTES_GENERATED_CODE.includes(i.key.role)) env = scrubEnv(env);
  // AUTORUN_PR_TOKEN is the publish stage's alone, as its Secret is in the cluster. GITHUB_TOKEN and
  // GITLAB_TOKEN stay where they were (a git credential helper may push with them); the run and
  // acceptance stages lose them with every other secret above.
  if (i.key.role !== 'publish') delete env[PR_TOKEN_ENV];
  const settings = roleSettings(i.pool, i.key.role);
  for (const e of settings.env) if (e.value !== undefined) env[e.name] = e.value;
  if (settings.llm) Object.assign(env, vertexEnv(i.pool.spec.model));
  Object.assign(env, contextToEnv(agentContext(i)));
  env[STAGE_MARKER_ENV] = i.marker;
  // Commands and tests see their own workspace, not the sibling stages' (the test agent's tests, the
  // code agent's implementation) nor the other tasks'.
  if (i.stateRoot) env[SANDBOX_HIDE_ENV] = [resolve(i.stateRoot), env[SANDBOX_HIDE_ENV]].filter(Boolean).join(':');
  // A stage without GPUs sees none, as a Pod without a GPU request would.
  if (i.devices !== undefined) env.CUDA_VISIBLE_DEVICES = i.devices.join(',');
  return env;
}
