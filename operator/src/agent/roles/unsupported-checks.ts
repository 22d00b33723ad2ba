// The local engine's test stage: checks the goal does not support are taken out of the test files
// by the agent program, not left to a refusal. Refused finished for HumanEval/13's
// pytest.raises(ZeroDivisionError) (gcd names no error), the 1.5B model rewrote the same file
// word for word, then spent minutes on edit_file calls that matched nothing. Which checks: those
// unstatedErrors and computedLines find (test-definitions.ts). Python only, where a check is a
// line or a `with pytest.raises` block; a file would be left without a test is left as it was.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentContext } from '../context.js';
import { computedLines, goalMentionsErrors, missingTests, testTexts } from './test-definitions.js';

const indent = (line: string): number => line.length - line.trimStart().length;
const RAISES_BLOCK = /^\s*with\s+(?:pytest\.raises|self\.assertRaises)\(/;
const RAISES_CALL = /^\s*(?:pytest\.raises|self\.assertRaises)\(/;
const TEST_DEF = /^\s*(?:async\s+)?def\s+test\w*\s*\(/;

/** The lines of a Python test file without the given checks, and test functions left empty. */
export function withoutChecks(text: string, drop: (line: string, index: number) => boolean): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (RAISES_BLOCK.test(line) && drop(line, i)) {
      // The block: every following line indented deeper (blank lines within it too).
      let j = i + 1;
      while (j < lines.length && (lines[j]!.trim() === '' || indent(lines[j]!) > indent(line))) j++;
      while (j > i + 1 && lines[j - 1]!.trim() === '') j--;
      i = j - 1;
      continue;
    }
    if (drop(line, i)) continue;
    kept.push(line);
  }
  // A test function whose body is gone goes too, with its decorators.
  const out: string[] = [];
  for (let i = 0; i < kept.length; i++) {
    const line = kept[i]!;
    if (TEST_DEF.test(line)) {
      let j = i + 1;
      while (j < kept.length && kept[j]!.trim() === '') j++;
      if (j >= kept.length || indent(kept[j]!) <= indent(line)) {
        while (out.length && out[out.length - 1]!.trim().startsWith('@') && indent(out[out.length - 1]!) === indent(line)) out.pop();
        continue;
      }
    }
    out.push(line);
  }
  return out.join('\n').replace(/\n{4,}/g, '\n\n\n').replace(/\n+$/, '\n');
}

/** Takes the unsupported checks out of the workspace's Python test files; says what it took out. */
export function removeUnsupportedChecks(workspace: string, goal: string, language: AgentContext['language']): string[] {
  if (language !== 'python') return [];
  const errorsStated = goalMentionsErrors(goal);
  const removed: string[] = [];
  for (const { file } of testTexts(workspace)) {
    const path = join(workspace, file);
    const text = readFileSync(path, 'utf8');
    const computed = new Set(computedLines(text, goal));
    const dropped: string[] = [];
    const next = withoutChecks(text, (line, i) => {
      const drop = (!errorsStated && (RAISES_BLOCK.test(line) || RAISES_CALL.test(line))) || computed.has(i);
      if (drop) dropped.push(line.trim());
      return drop;
    });
    if (!dropped.length || next === text) continue;
    writeFileSync(path, next);
    if (missingTests(workspace, language)) {
      writeFileSync(path, text);
      continue;
    }
    removed.push(...dropped.map((d) => `${file}: ${d}`));
  }
  return removed;
}
