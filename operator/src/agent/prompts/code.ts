import type { AgentContext } from '../context.js';
import { filesSection, guidanceSection, workspaceRules } from './common.js';
import type { Prompt } from './common.js';
import { paragraphs, prose } from './prose.js';
import { isTestPath } from '../tools/paths.js';

/**
 * A local model's fresh start is told who it is in one line. Under the full system prompt the 1.5B
 * model wrote the same wrong HumanEval/68 and /95 code greedily and in 8 samples of 8 at 0.6 and 0.8;
 * under this one, 2 and 3 of 3 samples passed check() (bench notes in the README). A retake that
 * changes only the temperature is the same answer again.
 */
function retakeSystem(ctx: AgentContext, tools: string): string {
  return prose`
    You are a careful ${ctx.language} programmer. Use the tools (${tools}) with paths relative to the
    workspace root; test files are not yours to change. Call finished when the code is written.`;
}

export function codePrompt(ctx: AgentContext, tools: string, files?: readonly string[]): Prompt {
  if (ctx.freshStart && ctx.model.provider === 'local') return { system: retakeSystem(ctx, tools), prompt: takePrompt(ctx, files) };
  const system = prose`
    You are the code agent of an automated coding loop. You implement a goal in a ${ctx.language}
    project. A separate test agent writes the tests from the same goal without seeing your code, so
    follow the interface the goal states exactly (file names, function names, signatures,
    behaviour). You own every file except test files: you may not create or change tests
    (test_*.py, *_test.go, *.test.js, tests/...). Writes to test files are refused. Keep the
    implementation small, complete and idiomatic. ${workspaceRules(tools)}`;
  return { system, prompt: taskPrompt(ctx, files) };
}

/**
 * A take is sampled from the goal alone, as CodeT samples code from the prompt, and the tests judge
 * it afterwards (roles/takes.ts keeps them off disk while it works). Shown the tests, the 1.5B model
 * rewrote the test file instead of writing the code, take after take (HumanEval/68, bench run 13).
 */
function takePrompt(ctx: AgentContext, files?: readonly string[]): string {
  return paragraphs(
    `Goal:\n${ctx.goal}`,
    'Earlier attempts stalled, so you write the implementation afresh from the goal.',
    ctx.guidance?.length && guidanceSection(ctx.guidance),
    filesSection(files?.filter((f) => !isTestPath(f))),
    'Implement it now.',
  );
}

function taskPrompt(ctx: AgentContext, files?: readonly string[]): string {
  return paragraphs(
    `Goal:\n${ctx.goal}`,
    ctx.freshStart &&
      prose`
        Earlier attempts stalled, so you start again from the goal. The tests written for this goal
        are in the workspace: read them to see what is expected, and write the implementation afresh.`,
    ctx.freshStart && ctx.guidance?.length && guidanceSection(ctx.guidance),
    filesSection(files),
    'Implement it now.',
  );
}
