import type { AgentContext } from '../context.js';
import { filesSection, guidanceSection, workspaceRules } from './common.js';
import type { Prompt } from './common.js';
import { paragraphs, prose } from './prose.js';

/** Most characters of the failure report put in the prompt; the model can run the tests for more. */
export const REPORT_IN_PROMPT = 40_000;

/**
 * suspect: a check in the tests the goal does not support (test-definitions' unstatedErrors), seen
 * by the agent program, not the model: the 1.5B repair agent bent correct code to such a test twice
 * out of twice instead of flagging it.
 */
export function repairPrompt(ctx: AgentContext, tools: string, report: string | undefined, claudeCode: boolean, files?: readonly string[], suspect?: string): Prompt {
  const flag = claudeCode ? 'end your final reply with one line per such test: "FLAG_TEST: <test name> - <why>"' : 'call flag_test with its name and the reason';
  const tests = ctx.test.allowRepairToEditTests
    ? 'You may change a test only when it clearly contradicts the goal.'
    : prose`
        You may not change test files (writes are refused). If a test contradicts the goal, or
        expects what the goal never states (an error, a value or a format it does not mention), do
        not bend the code to it: ${flag}, and fix the rest. A test the implementation crashes on
        (an exception raised in the code, not a failed assertion) is not such a test: fix the code.`;
  const system = prose`
    You are the repair agent of an automated coding loop. The implementation of a goal in a
    ${ctx.language} project fails some of its tests. Find the cause of each failure and fix the
    implementation with small, targeted changes. Tests that passed must keep passing. ${tests}
    ${workspaceRules(tools)}`;
  const hidden = ctx.hiddenFailed;
  const prompt = paragraphs(
    `Goal:\n${ctx.goal}`,
    ctx.failing?.length && `Failing tests:\n${ctx.failing.map((f) => `- ${f}`).join('\n')}`,
    ctx.testsHung &&
      prose`
        The last test run hung: it was killed at its timeout
        (${ctx.test.timeoutSeconds}s)${ctx.hungTest ? ` while ${ctx.hungTest} was running` : ''}. Find what
        never finishes (an endless loop, a blocking read or wait, a deadlock) and make the code
        return promptly.`,
    // All that may be said of hidden tests: that they failed, how many, and the author's own hint.
    hidden !== undefined &&
      prose`
        Your own tests pass, but ${hidden === 1 ? '1 hidden acceptance test fails' : `${hidden} hidden acceptance tests fail`}.
        They are hidden on purpose: you will not see their code, names or messages. Re-read the goal
        for behaviour the visible tests do not cover (edge cases, errors, exact formats) and make the
        implementation meet all of it.`,
    hidden !== undefined && ctx.acceptanceHint && `Hint from the task's author:\n${ctx.acceptanceHint}`,
    suspect &&
      hidden === undefined &&
      `Checked against the goal: ${suspect.replace(/ Remove the checks that expect an error\.$/, '')} If such a check is what fails, ${ctx.test.allowRepairToEditTests ? 'remove it from the test' : flag} instead of changing the code for it.`,
    report && hidden === undefined && `Failure report of the last run:\n${report.length > REPORT_IN_PROMPT ? report.slice(0, REPORT_IN_PROMPT) + '\n[report truncated]' : report}`,
    ctx.guidance?.length && guidanceSection(ctx.guidance),
    filesSection(files),
    ctx.previousAttempts?.length &&
      `Previous repair attempts (they did not fix everything; try something different where they failed):\n${ctx.previousAttempts.map((a, i) => `${i + 1}. ${a}`).join('\n')}`,
    'Fix the implementation now.',
  );
  return { system, prompt };
}
