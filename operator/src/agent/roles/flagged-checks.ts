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

/**
 * The same check turned into what the result is not: `==` to `!=`, `is` to `is not`, `assert x` to
 * `assert not x`. Told HumanEval/68's `pluck([1, 3, 5, 7]) == []` was wrong, the 1.5B test agent
 * wrote `!= []` (bench run 12): a check that passes almost any code, so wrong code passed it. The
 * goal states results, not non-results; a negation is kept as the same claim, not a revision.
 */
export function negations(check: string): string[] {
  const m = /^assert\s+(.+)$/.exec(check);
  if (!m) return [];
  const claim = m[1]!;
  const swapped = [
    [' == ', ' != '],
    [' != ', ' == '],
    [' is not ', ' is '],
    [' is ', ' is not '],
  ].flatMap(([from, to]) => (claim.includes(from!) ? [`assert ${claim.replace(from!, to!)}`] : []));
  const negated = claim.startsWith('not ') ? `assert ${claim.slice(4).trim()}` : undefined;
  return [...swapped, `assert not ${claim}`, `assert not (${claim})`, ...(negated ? [negated] : [])];
}

/** A flagged check still in a test file word for word, or only negated: the revision has not changed what it claims. */
export function keptFlaggedCheck(workspace: string, checks: readonly FlaggedCheck[]): string | undefined {
  if (!checks.length) return undefined;
  for (const { file, text } of testTexts(workspace)) {
    const lines = new Set(text.split('\n').map((l) => l.trim()));
    for (const c of checks) {
      if (lines.has(c.check)) return `${file} still has \`${c.check}\`, the check in ${c.test} that the repair agent found contradicts the goal: change it to what the goal states, or remove it.`;
      const negated = negations(c.check).find((n) => lines.has(n));
      if (negated)
        return `${file} has \`${negated}\` for the flagged check \`${c.check}\` in ${c.test}: that only says what the result is not, and almost any code passes it. Write the result the goal states for that input, or remove the check.`;
    }
  }
  return undefined;
}
