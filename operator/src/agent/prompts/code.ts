import type { AgentContext } from '../context.js';
import { filesSection, guidanceSection, workspaceRules } from './common.js';
import type { Prompt } from './common.js';
import { paragraphs, prose } from './prose.js';

export function codePrompt(ctx: AgentContext, tools: string, files?: readonly string[]): Prompt {
  const system = prose`
    You are the code agent of an automated coding loop. You implement a goal in a ${ctx.language}
    project. A separate test agent writes the tests from the same goal without seeing your code, so
    follow the interface the goal states exactly (file names, function names, signatures,
    behaviour). You own every file except test files: you may not create or change tests
    (test_*.py, *_test.go, *.test.js, tests/...). Writes to test files are refused. Keep the
    implementation small, complete and idiomatic. ${workspaceRules(tools)}`;
  const prompt = paragraphs(
    `Goal:\n${ctx.goal}`,
    ctx.freshStart &&
      prose`
        Earlier attempts stalled, so you start again from the goal. The tests written for this goal
        are in the workspace: read them to see what is expected, and write the implementation afresh.`,
    ctx.freshStart && ctx.guidance?.length && guidanceSection(ctx.guidance),
    filesSection(files),
    'Implement it now.',
  );
  return { system, prompt };
}
