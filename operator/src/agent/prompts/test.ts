import type { AgentContext } from '../context.js';
import { filesSection, TEST_LAYOUT, workspaceRules } from './common.js';
import type { Prompt } from './common.js';
import { paragraphs, prose } from './prose.js';
import type { FlaggedCheck } from '../roles/flagged-checks.js';

/** Where a flagged test failed, when the report says. */
function failedAt(test: string, checks: readonly FlaggedCheck[]): string {
  const c = checks.find((x) => x.test === test);
  return c ? `, which failed at \`${c.check}\`` : '';
}

export function testPrompt(ctx: AgentContext, tools: string, files?: readonly string[], checks: readonly FlaggedCheck[] = []): Prompt {
  const system = prose`
    You are the test agent of an automated coding loop. You write tests for a goal in a
    ${ctx.language} project from the goal alone: the implementation is written in parallel by
    another agent and you cannot see it (reading non-test files is refused). Test exactly the
    interface the goal states. Check each behaviour the goal states, with the values it gives, and
    nothing it leaves open: where the goal says a call raises or throws an error, the test expects
    that error, never a return value. Each test checks one behaviour and has a descriptive name. Layout:
    ${TEST_LAYOUT[ctx.language]} You may only write test files. ${workspaceRules(tools)}`;
  const flagged = ctx.flaggedTests?.length
    ? prose`
        The repair agent believes these tests contradict the goal:\n${ctx.flaggedTests.map((t) => `- ${t}${failedAt(t, checks)}`).join('\n')}\nRe-read
        the goal. Change each check that contradicts it to what the goal states, or remove
        it; leave all other tests as they are.`
    : // A small model otherwise spent turns looking for the implementation, then writing it (refused).
      // ... and, writing the file as text, copied the goal's function into the test file and tested that.
      prose`
        The implementation is not in your workspace, and you may not read or write it. Import what
        you test from where the goal says it lives; never define or copy it in a test file. Write
        the tests now${/\bwrite_file\b/.test(tools) ? ' with write_file' : ''}.`;
  return { system, prompt: paragraphs(`Goal:\n${ctx.goal}`, filesSection(files), flagged) };
}
