// The AgentContext of a stage, built by one function for both shells: what the agent gets from the
// task, the pool's role settings and the core's StageContext. The shells differ only in where
// things are (a Pod's mounts, a local stage directory): they pass those places in.
//
// Settled here where the shells used to disagree:
// - the goal, the engine and the model settings (with the stage's budget) go to the roles that call
//   a model only, as the operator did: the local tier gave them to run and acceptance stages too,
//   which read none of it (the goal is the task author's text; less of it near generated code);
// - repository.baseRef is the spec's (the CRD defaults it to main when a repository is given); for a
//   task without one the agent starts from the remote's default branch, which for the local tier's
//   fresh repository is the branch it was created with (the local tier used to say "main" itself);
// - the budget is the core's (StageContext.budgetUSD, core/budget.ts), never a shell's own figure.
import type { AgentContext } from '../api/agent-context.js';
import { modelContext, modelRetryWindowSeconds, roleSettings } from '../api/pool-roles.js';
import type { AgentPool, CodingTask } from '../api/types.js';
import type { StageContext, StageKey } from '../core/types.js';
import { callsModel, executesGeneratedCode } from './roles.js';
import { receivesFailureReport } from './repair-input.js';

/** Where the shell puts things, as the agent will see the paths. */
export interface StagePlaces {
  /** The git remote; undefined when the shell has none to give (the agent then refuses to start). */
  repositoryUrl?: string;
  workspace: string;
  terminationPath: string;
  /** Repair and a flagged-test revision: the report of the failed run (see failedRunForRepair, receivesFailureReport), when the shell has one. */
  failureReportPath?: string;
  /** run and acceptance: where the agent writes the full failure report, when the shell reads it from a file. */
  reportPath?: string;
  /** Acceptance: the directory holding the hidden tests, when the task has them. */
  acceptanceDir?: string;
}

export interface AgentContextInput {
  task: CodingTask;
  pool: AgentPool;
  key: StageKey;
  context: StageContext;
  places: StagePlaces;
}

export function buildAgentContext(i: AgentContextInput): AgentContext {
  const { task, pool, key, context, places } = i;
  const spec = task.spec;
  const role = key.role;
  const repo = spec.repository;
  const ctx: Partial<AgentContext> = {
    task: task.metadata.name,
    role,
    iteration: key.iteration,
    attempt: key.attempt,
    language: spec.language ?? 'python',
    codeRef: context.codeRef,
    testsRef: context.testsRef,
    failing: context.failing,
    hiddenFailed: context.hiddenFailures?.failed,
    acceptanceHint: context.hiddenFailures?.hint,
    testsHung: context.testsHung ? true : undefined,
    hungTest: context.testsHung?.test,
    previousAttempts: context.previousAttempts,
    flaggedTests: context.flaggedTests,
    freshStart: context.freshStart,
    guidance: context.guidance,
    failureReportPath: receivesFailureReport(role, context) ? places.failureReportPath : undefined,
    test: {
      command: spec.test?.command,
      timeoutSeconds: spec.test?.timeoutSeconds ?? 600,
      allowRepairToEditTests: spec.test?.allowRepairToEditTests ?? false,
      acceptanceDir: role === 'acceptance' ? places.acceptanceDir : undefined,
      acceptanceCommand: role === 'acceptance' ? spec.test?.acceptance?.command : undefined,
    },
    workspace: places.workspace,
    terminationPath: places.terminationPath,
    reportPath: executesGeneratedCode(role) ? places.reportPath : undefined,
  };
  if (places.repositoryUrl !== undefined) ctx.repository = { url: places.repositoryUrl, baseRef: repo?.baseRef, branch: repo?.branch };
  if (callsModel(role)) {
    const s = roleSettings(pool, role);
    ctx.goal = spec.goal;
    ctx.engine = s.engine;
    ctx.model = modelContext(pool.spec.model ?? {}, s.maxTurns, context.budgetUSD, modelRetryWindowSeconds(pool), context.budgetStrict);
  }
  const pr = repo?.pullRequest;
  if (role === 'publish' && pr && context.pullRequest) {
    ctx.pullRequest = { provider: pr.provider, apiURL: pr.apiURL, repository: pr.repository, draft: pr.draft ?? false, ...context.pullRequest };
  }
  // Partial by design: a role outside the model roles has no goal, engine or model; the agent's
  // completeContext fills defaults and checks what each role needs.
  return ctx as AgentContext;
}
