// Shared pieces of the role prompts. The system prompt is identical across turns (and across stages
// of the same role), which is what makes it a good prompt-cache prefix.
import type { AgentContext } from '../context.js';
import { prose } from './prose.js';

export interface Prompt {
  system: string;
  prompt: string;
}

export const TEST_LAYOUT: Record<AgentContext['language'], string> = {
  python: 'pytest: tests in tests/test_<module>.py, importing the module under test from the project root (tests run as `python -m pytest` from the root), and `import pytest` at the top where a test uses pytest.raises.',
  javascript: 'jest: tests in __tests__/<name>.test.js or <name>.test.js, CommonJS require() of the module under test unless package.json says "type": "module".',
  typescript: 'jest: tests in __tests__/<name>.test.ts, importing the module under test.',
  go: 'go test: <name>_test.go files in the package directory, package-internal tests.',
  other: 'the test command of the task decides where tests live; keep them in tests/.',
};

export function workspaceRules(tools: string): string {
  return prose`
    You work in a git repository checked out in your workspace; the agent program commits and
    pushes your changes when you finish, so do not run git yourself. Use the tools (${tools}) with
    paths relative to the workspace root. When you are done, reply with one short line summarising
    what you did (it becomes the stage summary), and stop.`;
}

/** People's hints (spec.guidance, from Slack or kubectl): the newest last, which wins a conflict. */
export function guidanceSection(guidance: readonly string[]): string {
  return `Guidance from the people watching this task (follow it; the newest wins where two disagree):\n${guidance.map((g) => `- ${g.replace(/\s*\n\s*/g, ' ')}`).join('\n')}`;
}

/** Most workspace paths listed in a prompt; a larger repository is explored with the tools. */
export const FILES_IN_PROMPT = 60;

/**
 * The workspace's files as the stage starts, so the first turn need not be list_files (opencode puts
 * the project's tree in its system prompt for the same reason). A small model spent its first turns
 * listing and re-reading what this line says.
 */
export function filesSection(files: readonly string[] | undefined): string | undefined {
  if (!files) return undefined;
  if (!files.length) return 'The workspace has no files yet.';
  const shown = files.slice(0, FILES_IN_PROMPT).join(', ');
  return `Files in the workspace now: ${shown}${files.length > FILES_IN_PROMPT ? `, and ${files.length - FILES_IN_PROMPT} more (list_files shows them)` : ''}.`;
}
