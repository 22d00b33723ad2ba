// Prompts are wrapped paragraphs in the source; what the model reads is the text without the wrapping.
import { paragraphs, prose } from '../../../../operator/src/agent/prompts/prose.js';
import { codePrompt } from '../../../../operator/src/agent/prompts/code.js';
import { repairPrompt } from '../../../../operator/src/agent/prompts/repair.js';
import { testPrompt } from '../../../../operator/src/agent/prompts/test.js';
import { FILES_IN_PROMPT } from '../../../../operator/src/agent/prompts/common.js';
import type { AgentContext } from '../../../../operator/src/agent/context.js';

test('a paragraph\'s lines are joined by one space; a blank line stays a paragraph break; \\n is kept', () => {
  const v = 'x\n  y';
  expect(prose`
    One line
      and the next.

    A second\nparagraph with ${v} as it is.`).toBe('One line and the next.\n\nA second\nparagraph with x\n  y as it is.');
});

test('paragraphs leaves out the empty ones', () => {
  expect(paragraphs('a', false, undefined, '', 'b')).toBe('a\n\nb');
});

test('the code prompt reads as one paragraph per part, the goal untouched', () => {
  const ctx = { goal: 'Do X.\n  Then Y.', language: 'python', freshStart: true, guidance: ['use a dict'], model: { provider: 'anthropic' } } as unknown as AgentContext;
  const { system, prompt } = codePrompt(ctx, 'read_file, write_file');
  expect(system).toMatch(/^You are the code agent of an automated coding loop\./);
  expect(system).not.toMatch(/\n| {2}/);
  expect(system).toContain('Use the tools (read_file, write_file) with paths relative to the workspace root.');
  expect(prompt.split('\n\n')).toEqual([
    'Goal:\nDo X.\n  Then Y.',
    'Earlier attempts stalled, so you start again from the goal. The tests written for this goal are in the workspace: read them to see what is expected, and write the implementation afresh.',
    'Guidance from the people watching this task (follow it; the newest wins where two disagree):\n- use a dict',
    'Implement it now.',
  ]);
});

test("a local model's fresh start is told who it is in one line and given the goal alone, its tests not mentioned; another's is pointed at the tests", () => {
  const ctx = { goal: 'Do X.', language: 'python', freshStart: true, model: { provider: 'local' } } as unknown as AgentContext;
  const { system, prompt } = codePrompt(ctx, 'read_file, write_file', ['README.md', 'tests/test_x.py']);
  expect(system).toBe('You are a careful python programmer. Use the tools (read_file, write_file) with paths relative to the workspace root; test files are not yours to change. Call finished when the code is written.');
  expect(prompt).toBe('Goal:\nDo X.\n\nEarlier attempts stalled, so you write the implementation afresh from the goal.\n\nFiles in the workspace now: README.md.\n\nImplement it now.');
  expect(codePrompt({ ...ctx, model: { provider: 'anthropic' } } as unknown as AgentContext, 'read_file, write_file', ['tests/test_x.py']).prompt).toContain('The tests written for this goal are in the workspace: read them');
  expect(codePrompt({ ...ctx, freshStart: false } as unknown as AgentContext, 'write_file').system).toMatch(/^You are the code agent/);
});

test('every role prompt lists the workspace files the stage starts with, and says so when there are none', () => {
  const ctx = { goal: 'Do X.', language: 'python', test: { timeoutSeconds: 60 }, model: { provider: 'anthropic' } } as unknown as AgentContext;
  expect(codePrompt(ctx, 'write_file', ['README.md', 'tests/test_x.py']).prompt).toContain('Files in the workspace now: README.md, tests/test_x.py.');
  expect(testPrompt(ctx, 'write_file', []).prompt).toContain('The workspace has no files yet.');
  const many = Array.from({ length: FILES_IN_PROMPT + 5 }, (_, i) => `f${i}.py`);
  const listed = repairPrompt(ctx, 'write_file', 'boom', false, many).prompt;
  expect(listed).toContain(`f${FILES_IN_PROMPT - 1}.py, and 5 more (list_files shows them).`);
  expect(listed).not.toContain(`f${FILES_IN_PROMPT}.py`);
});

test('repair is shown a check the goal does not support, and told to flag it, or to remove it where it may edit tests', () => {
  const suspect = 'tests/test_solution.py expects ValueError, but the goal never says that anything raises or throws: a test checks only what the goal states, with the values it gives. Remove the checks that expect an error.';
  const ctx = { goal: 'flip_case(s) flips the case of s.', language: 'python', test: { timeoutSeconds: 60 } } as unknown as AgentContext;
  expect(repairPrompt(ctx, 'flag_test', 'boom', false, [], suspect).prompt.split('\n\n')).toContain(
    'Checked against the goal: tests/test_solution.py expects ValueError, but the goal never says that anything raises or throws: a test checks only what the goal states, with the values it gives. If such a check is what fails, call flag_test with its name and the reason instead of changing the code for it.',
  );
  const editing = { ...ctx, test: { timeoutSeconds: 60, allowRepairToEditTests: true } } as unknown as AgentContext;
  expect(repairPrompt(editing, 'write_file', 'boom', false, [], suspect).prompt).toContain('If such a check is what fails, remove it from the test instead of changing the code for it.');
  // Nothing is said without a suspect, nor after hidden tests failed (their report is not shown either).
  expect(repairPrompt(ctx, 'flag_test', 'boom', false, []).prompt).not.toContain('Checked against the goal');
  expect(repairPrompt({ ...ctx, hiddenFailed: 1 } as AgentContext, 'flag_test', undefined, false, [], suspect).prompt).not.toContain('Checked against the goal');
});
