// code, test and repair: check out the starting point, let the engine work, enforce who owns which
// files, commit, push the stage ref, then update the task branch with merge(code, tests).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageResult } from '../../api/types.js';
import { stageRefs } from '../context.js';
import type { AgentContext } from '../context.js';
import { claudeCodeEngine } from '../engines/claude-code.js';
import { localEngine } from '../engines/local.js';
import { openAICompatibleEngine } from '../engines/openai-compatible.js';
import { sdkEngine } from '../engines/sdk.js';
import { withBudget } from '../engines/budget.js';
import type { Engine, EngineRequest, EngineResult } from '../engines/types.js';
import { Git, GitError } from '../git.js';
import { EXEC_SOCKET_ENV } from '../exec-container/protocol.js';
import { GIT_DIR_ENV } from '../../api/agent-context.js';
import { readFailureReport } from '../runner/report.js';
import type { FailureReport } from '../runner/report.js';
import { isProjectFile, isTestPath } from '../tools/paths.js';
import type { Transcript } from '../transcript.js';
import { SESSIONS, type LlmRoleName, type Session } from './sessions.js';
import { flagTakesContext, judgeFlags, type FlagTakes } from './flag-takes.js';
import { runTakes } from './takes.js';

export function pickEngine(ctx: AgentContext): Engine {
  // The local model runs inside the agent whatever the engine setting: Claude Code cannot drive it.
  if (ctx.model.provider === 'local') return withBudget(localEngine);
  if (ctx.engine === 'claude-code') return withBudget(claudeCodeEngine);
  return withBudget(ctx.model.provider === 'openai-compatible' ? openAICompatibleEngine : sdkEngine);
}

const CLAUDE_TOOLS: Record<LlmRoleName, string[]> = {
  code: ['Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS', 'Bash'],
  // No shell for the test agent: it could read the implementation through it.
  test: ['Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS'],
  repair: ['Read', 'Write', 'Edit', 'MultiEdit', 'Glob', 'Grep', 'LS', 'Bash'],
};

/** "FLAG_TEST: name - why" lines of the final reply (how claude-code flags tests). */
export function flagsFromText(text: string): string[] {
  return [...text.matchAll(/^\s*FLAG_TEST:\s*(\S+)/gm)].map((m) => m[1]!);
}

/** Whether a changed path may be committed by this role. */
export function ownsPath(role: LlmRoleName, rel: string, allowRepairToEditTests: boolean): boolean {
  if (role === 'test') return isTestPath(rel);
  if (role === 'repair' && allowRepairToEditTests) return true;
  return !isTestPath(rel);
}

/** The failure report handed over (runner/report.ts reads what it holds), if the stage has one. */
function loadReport(path: string | undefined): { report?: FailureReport; text?: string } {
  if (!path) return {};
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  return readFailureReport(content);
}

/** What the engine is handed for a session: its prompt and tools, the model, where it works. */
function requestOf(session: Session, ctx: AgentContext, role: LlmRoleName, env: NodeJS.ProcessEnv, transcript: Transcript): EngineRequest {
  return {
    system: session.system,
    prompt: session.prompt,
    tools: session.tools,
    claudeTools: CLAUDE_TOOLS[role],
    model: ctx.model,
    workspace: ctx.workspace,
    env,
    transcript,
    attempt: ctx.attempt,
    ...(session.retake ? { retake: true } : {}),
    ...(session.unfinished ? { unfinished: session.unfinished } : {}),
    ...(session.textStart ? { textStart: session.textStart } : {}),
  };
}

export async function llmRole(ctx: AgentContext, role: LlmRoleName, env: NodeJS.ProcessEnv, transcript: Transcript, engine: Engine = pickEngine(ctx)): Promise<StageResult> {
  // The model's commands can write the workspace (an LLM Pod's exec container, the local sandbox): the
  // repository stays where they cannot, the local stage directory or this container's private /tmp
  // (git.ts says why).
  const git = new Git(ctx.workspace, env, env[GIT_DIR_ENV] || (env[EXEC_SOCKET_ENV] ? join(tmpdir(), 'autorun-git') : undefined));
  const refs = stageRefs(ctx);
  await git.clone(ctx.repository.url);
  const base = await git.base(ctx.repository.baseRef);
  let start = base;
  let testsCommit: string | undefined;
  if (role === 'repair') {
    const code = await git.fetch(refs.code);
    const tests = await git.fetch(refs.tests);
    if (!code || !tests) throw new GitError(`repair needs both ${refs.code} and ${refs.tests}; ${!code ? refs.code : refs.tests} is missing`);
    testsCommit = tests;
    start = await git.mergeCodeAndTests(code, tests);
  } else if (role === 'code' && ctx.freshStart) {
    const tests = await git.fetch(refs.tests);
    start = tests ? await git.mergeCodeAndTests(base, tests) : base;
  } else if (role === 'test' && ctx.flaggedTests?.length) {
    start = (await git.fetch(refs.tests)) ?? base;
  }
  if (role !== 'repair' && !(role === 'code' && ctx.freshStart)) await git.checkout(start);
  transcript.log('start', { role, iteration: ctx.iteration, attempt: ctx.attempt, engine: ctx.engine, provider: ctx.model.provider, model: ctx.model.name, startCommit: start });

  if (role === 'test') {
    // The test agent writes tests from the goal alone: the implementation is not even on disk.
    const tracked = (await git.run(['ls-files', '-z'])).split('\0').filter(Boolean);
    for (const f of tracked) if (!isTestPath(f) && !isProjectFile(f)) rmSync(join(ctx.workspace, f), { force: true });
  }
  const files = (await git.run(['ls-files', '-z'])).split('\0').filter((f) => f && existsSync(join(ctx.workspace, f)));

  const session = SESSIONS[role]({ ctx, env, transcript, files, git, start, report: loadReport(ctx.failureReportPath) });
  const { flagged } = session;
  const request = requestOf(session, ctx, role, env, transcript);
  const res: EngineResult = session.takes && session.takes.count > 1 ? await runTakes(engine, request, session.takes, git, start, transcript) : await engine(request);
  for (const name of flagsFromText(res.finalText)) {
    const refused = session.refuseFlag?.(name);
    if (refused) transcript.log('flag-refused', { test: name, why: refused });
    else if (!flagged.has(name)) flagged.set(name, 'flagged in the final reply');
  }
  const result: StageResult = { role, outcome: res.outcome, summary: res.summary, usage: res.usage, ...(res.reason ? { reason: res.reason } : {}) };
  if (flagged.size) result.flaggedTests = [...flagged.keys()];
  if (res.outcome !== 'Succeeded') return result;
  const note = await session.afterModel?.();
  if (note) result.summary = `${result.summary} (${note})`;
  if (role === 'repair' && flagged.size && ctx.model.provider === 'local') {
    const fresh = flagTakesContext(ctx);
    const takes: FlagTakes = {
      freshStart: () => git.mergeCodeAndTests(base, testsCommit ?? base),
      session: (takeFiles) => {
        const code = SESSIONS.code({ ctx: fresh, env, transcript, files: takeFiles, git, start, report: {} });
        return { code, request: requestOf(code, fresh, 'code', env, transcript) };
      },
    };
    const verdict = await judgeFlags(engine, takes, res.usage, git, start, [...flagged.keys()], transcript);
    result.usage = verdict.usage;
    if (verdict.refuted) {
      result.summary = `${result.summary}; a take written from the goal passes the flagged test(s) ${[...flagged.keys()].join(', ')}, so they stand and its code is kept`;
      flagged.clear();
      delete result.flaggedTests;
    }
  }
  const notDone = session.notDone?.();
  if (notDone) return { ...result, outcome: 'Failed', reason: 'NoTests', summary: `the test agent's tests are not done: ${notDone}` };

  const changed = await git.changedPaths();
  const owned = changed.filter((p) => ownsPath(role, p, ctx.test.allowRepairToEditTests));
  const refused = changed.filter((p) => !owned.includes(p));
  if (refused.length) {
    await git.discard(refused);
    // The hidden implementation files of the test role are expected here; anything else is worth a line.
    if (role !== 'test') transcript.log('discarded', { paths: refused, why: `the ${role} role does not own these files` });
  }
  const commit = await git.commit(owned, `autorun: ${role} (iteration ${ctx.iteration})\n\n${res.summary}`);
  if (!commit) {
    if (role === 'repair' && flagged.size) {
      // The result names the code it leaves: the merge it started from, which exists only here
      // until pushed (HumanEval/109's third run failed GitFailed: "<merge> not found").
      await git.push([{ commit: start, ref: refs.codePush }]);
      return { ...result, commit: start, summary: `flagged ${flagged.size} test(s) as wrong; no code change` };
    }
    return { ...result, outcome: 'Failed', reason: role === 'test' ? 'NoTests' : 'NoChanges', summary: `the ${role} agent finished without ${role === 'test' ? 'writing tests' : 'changing the code'}: ${res.summary}` };
  }
  await git.push([{ commit, ref: role === 'test' ? refs.testsPush : refs.codePush }]);
  // Push own ref first, then look for the other: of two parallel stages at least one sees both.
  const other = role === 'test' ? await git.fetch(refs.codePush) : await git.fetch(refs.testsPush);
  let branchCommit: string | undefined;
  if (other) {
    branchCommit = role === 'test' ? await git.mergeCodeAndTests(other, commit) : await git.mergeCodeAndTests(commit, other);
    await git.push([{ commit: branchCommit, ref: refs.branch }]);
  }
  transcript.log('pushed', { ref: role === 'test' ? refs.testsPush : refs.codePush, commit, branch: branchCommit ? refs.branch : undefined, branchCommit, paths: owned });
  return { ...result, commit, summary: `${commit.slice(0, 8)}: ${result.summary}` };
}
