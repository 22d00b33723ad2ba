// What each LLM role's model session is: its tools and prompt, what keeps it from being done (asked
// before the loop takes `finished`), and what the agent program itself does once the model is done.
// llm-role.ts runs every session the same way: check out, engine, ownership, commit, push.
import type { AgentContext } from '../context.js';
import type { Git } from '../git.js';
import type { EngineRequest } from '../engines/types.js';
import { codePrompt } from '../prompts/code.js';
import type { Prompt } from '../prompts/common.js';
import { repairPrompt } from '../prompts/repair.js';
import { testPrompt } from '../prompts/test.js';
import { renderReport } from '../runner/report.js';
import type { FailureReport } from '../runner/report.js';
import { flagTestTool, runCommandTool } from '../tools/command-tools.js';
import { fileTools, policyFor } from '../tools/file-tools.js';
import { isTestPath } from '../tools/paths.js';
import type { ToolSpec } from '../tools/types.js';
import type { Transcript } from '../transcript.js';
import { flagRefusal } from './flag-refusal.js';
import { flaggedChecks, keptFlaggedCheck } from './flagged-checks.js';
import { CODE_ADVICE, REPAIR_ADVICE, failingAfterChange, testScore, undoWorseAtEnd } from './finish-check.js';
import type { FinishState } from './finish-check.js';
import { handedCode } from './handed-code.js';
import type { Takes } from './takes.js';
import { testFileStart, testsUnfinished, unstatedErrors } from './test-definitions.js';
import { removeUnsupportedChecks } from './unsupported-checks.js';

export type LlmRoleName = 'code' | 'test' | 'repair';

export interface SessionInput {
  ctx: AgentContext;
  env: NodeJS.ProcessEnv;
  transcript: Transcript;
  /** The files of the workspace the session starts with (tracked and on disk). */
  files: string[];
  /** The stage's repository, checked out at start. */
  git: Git;
  /** The commit the session starts from. */
  start: string;
  /** The failure report the stage was handed, read (runner/report.ts), or its raw text. */
  report: { report?: FailureReport; text?: string };
}

export interface Session extends Prompt, Pick<EngineRequest, 'unfinished' | 'textStart' | 'retake'> {
  tools: ToolSpec[];
  /** The tests the model flagged as wrong, with its reasons (repair). */
  flagged: Map<string, string>;
  /** Why a flag is not taken (repair: the test failed by a crash in the code), for flags in a final reply too. */
  refuseFlag?: (name: string) => string | undefined;
  /** Work the role does itself once the model is done; what it returns is added to the summary. */
  afterModel?: () => string | undefined | Promise<string | undefined>;
  /** Why the work is not done although the model says it is, whatever the engine (Claude Code has no finished to refuse). */
  notDone?: () => string | undefined;
  /** The session is done as independent takes, the best kept (takes.ts). */
  takes?: Takes;
}

/**
 * Takes of a local model's fresh start. Where 2 samples in 3 pass, as outside the loop on
 * HumanEval/68 and /95, one of three does 26 times in 27, if the tests judge right (in the loop that
 * is unmeasured). A take that writes and finishes took 90 s here (bench run 12, /95).
 */
export const FRESH_START_TAKES = 3;

const toolNames = (tools: ToolSpec[]): string => tools.map((t) => t.name).join(', ');

function codeSession({ ctx, env, files }: SessionInput): Session {
  const runCommand = runCommandTool(ctx.workspace, env);
  const tools = [...fileTools(ctx.workspace, policyFor('code')), runCommand];
  const base = { tools, flagged: new Map<string, string>(), ...codePrompt(ctx, toolNames(tools), files), retake: !!ctx.freshStart };
  if (!ctx.freshStart) return base;
  // A fresh start is another try at code already judged, and the tests it is handed judge it: a
  // local model's takes are sampled and the best kept (takes.ts); elsewhere the tests judge finished.
  const judge = ctx.model.provider === 'local' ? testScore(ctx, runCommand) : undefined;
  if (judge) return { ...base, takes: { count: FRESH_START_TAKES, judge, owns: (path) => !isTestPath(path) } };
  const unfinished = failingAfterChange(ctx, runCommand, { advice: CODE_ADVICE });
  return { ...base, ...(unfinished ? { unfinished } : {}) };
}

function testSession({ ctx, transcript, files, report }: SessionInput): Session {
  const { workspace, goal, language } = ctx;
  // No shell: the test agent could read the implementation through it.
  const tools = fileTools(workspace, policyFor('test'));
  const checks = ctx.flaggedTests?.length ? flaggedChecks(report.report, ctx.flaggedTests) : [];
  // On the local engine the checks the goal does not support are taken out once the model is done
  // (unsupported-checks.ts): refused instead, the 1.5B model rewrote the same file word for word.
  // Elsewhere an unstated error is a reason to refuse finished.
  const local = ctx.model.provider === 'local';
  const fileStart = testFileStart(goal, language);
  return {
    tools,
    flagged: new Map(),
    ...testPrompt(ctx, toolNames(tools), files, checks),
    unfinished: () => testsUnfinished(workspace, goal, language) ?? keptFlaggedCheck(workspace, checks) ?? (local ? undefined : unstatedErrors(workspace, goal, language)),
    ...(fileStart ? { textStart: (tool: string, input: Record<string, unknown>) => (tool === 'write_file' && typeof input.path === 'string' && isTestPath(input.path) ? fileStart : undefined) } : {}),
    ...(local
      ? {
          afterModel: () => {
            const removed = removeUnsupportedChecks(workspace, goal, language);
            if (!removed.length) return undefined;
            transcript.log('removed-checks', { removed, why: 'checks the goal does not support: an error it never mentions, or a list/tuple/dict it does not give beside ones it does' });
            return `took out ${removed.length} check(s) the goal does not support`;
          },
        }
      : {}),
    notDone: () => testsUnfinished(workspace, goal, language),
  };
}

function repairSession({ ctx, env, files, report, git, start }: SessionInput): Session {
  const flagged = new Map<string, string>();
  // The repair check's latest failing run, for a flag that follows it.
  const latest: FinishState = {};
  const refuseFlag = flagRefusal(report.report, () => latest.output);
  const runCommand = runCommandTool(ctx.workspace, env);
  const tools = [...fileTools(ctx.workspace, policyFor('repair', ctx.test.allowRepairToEditTests)), runCommand, flagTestTool(flagged, refuseFlag)];
  const rendered = report.report ? renderReport(report.report) : report.text;
  // A change that makes the handed failure worse is undone (regression.ts).
  const guard = report.report && { report: report.report, handed: handedCode(git, start) };
  const unfinished = failingAfterChange(ctx, runCommand, { advice: REPAIR_ADVICE, flagged, latest, ...(guard ? { guard } : {}) });
  return {
    tools,
    flagged,
    refuseFlag,
    ...repairPrompt(ctx, toolNames(tools), rendered, ctx.engine === 'claude-code', files, unstatedErrors(ctx.workspace, ctx.goal, ctx.language)),
    ...(unfinished ? { unfinished } : {}),
    ...(guard ? { afterModel: () => undoWorseAtEnd(ctx, runCommand, guard, flagged, latest) } : {}),
  };
}

export const SESSIONS: Record<LlmRoleName, (input: SessionInput) => Session> = { code: codeSession, test: testSession, repair: repairSession };
