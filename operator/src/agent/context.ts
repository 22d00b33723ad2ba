// The agent's side of the hand-over: reading the context (a mounted file, then the env) and the git
// scheme its stages share. The contract itself (AgentContext, its env mapping) is api/agent-context.ts.
import { readFileSync } from 'node:fs';
import { CONTEXT_FILE_ENV, ContextError, completeContext, rawContextFromEnv, type AgentContext } from '../api/agent-context.js';

export * from '../api/agent-context.js';

/** The context file (JSON of AgentContext fields) if any, then the env on top of it. */
export function loadContext(env: NodeJS.ProcessEnv, file?: string): AgentContext {
  const path = file ?? env[CONTEXT_FILE_ENV];
  let base: Record<string, unknown> = {};
  if (path) {
    try {
      base = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ContextError(`cannot read context file ${path}: ${(e as Error).message}`);
    }
    if (!base || typeof base !== 'object' || Array.isArray(base)) throw new ContextError(`context file ${path} is not a JSON object`);
  }
  return completeContext(rawContextFromEnv(env, base));
}

/**
 * The git scheme. Stage results live outside refs/heads so they never collide with the task branch
 * (a branch autorun/<task> and a branch autorun/<task>/code cannot both exist in git):
 * - code and repair push refs/autorun/<task>/code, test pushes refs/autorun/<task>/tests;
 * - run, acceptance and repair start from merge(code, tests), made deterministic (fixed identity,
 *   dates from the parents) so every stage computes the same commit id from the same two inputs;
 * - code, test and repair then push that merge (or repair's commit on top of it) to the task branch,
 *   so the branch always carries the merged result of the latest code and tests.
 */
export function stageRefs(ctx: Pick<AgentContext, 'task' | 'repository' | 'codeRef' | 'testsRef'>): {
  codePush: string;
  testsPush: string;
  code: string;
  tests: string;
  branch: string;
} {
  const codePush = `refs/autorun/${ctx.task}/code`;
  const testsPush = `refs/autorun/${ctx.task}/tests`;
  return {
    codePush,
    testsPush,
    code: ctx.codeRef ?? codePush,
    tests: ctx.testsRef ?? testsPush,
    branch: ctx.repository.branch ?? `autorun/${ctx.task}`,
  };
}
