// Where each test the repair agent flagged failed, for the test stage that revises it. Told only the
// flagged tests' names, the 1.5B test agent rewrote HumanEval/109's file twice and kept the very
// assert that failed (move_one_ball([5, 4, 3, 2, 1]) == True). The check shown is the test's own
// source line, never the assertion's message, which carries what the implementation returned.
import type { FailureReport } from '../runner/report.js';
import { testTexts } from './test-definitions.js';

export interface FlaggedCheck {
  test: string;
  check: string;
}

/** A flag names a test as the runner reported it, or by its last part (test_x for tests/a.py::test_x). */
export function sameTest(reported: string, flagged: string): boolean {
  return reported === flagged || reported.endsWith(`::${flagged}`) || reported.endsWith(`.${flagged}`) || reported.endsWith(`/${flagged}`);
}

/** Two names of one test, either the longer: a report's, a flag's, a pytest section title's. */
export function sameTestEither(a: string, b: string): boolean {
  return sameTest(a, b) || sameTest(b, a);
}

/** The failing line of each flagged test: pytest marks it with ">" in the trace. */
export function flaggedChecks(report: FailureReport | undefined, flagged: readonly string[]): FlaggedCheck[] {
  if (!report) return [];
  return flagged.flatMap((test) => {
    const trace = report.failures.find((f) => sameTest(f.name, test))?.trace ?? '';
    const line = trace.split('\n').find((l) => /^>\s+\S/.test(l));
    return line ? [{ test, check: line.replace(/^>\s+/, '').trim() }] : [];
  });
}

/** A flagged check still in a test file word for word: the revision has not touched it. */
export function keptFlaggedCheck(workspace: string, checks: readonly FlaggedCheck[]): string | undefined {
  if (!checks.length) return undefined;
  for (const { file, text } of testTexts(workspace)) {
    const lines = new Set(text.split('\n').map((l) => l.trim()));
    const kept = checks.find((c) => lines.has(c.check));
    if (kept) return `${file} still has \`${kept.check}\`, the check in ${kept.test} that the repair agent found contradicts the goal: change it to what the goal states, or remove it.`;
  }
  return undefined;
}
