// One test runner's results, whatever the runner: the run role's common currency.
export type CaseStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface TestCase {
  /** Stable name used in results and for re-running: pytest node id, file::full name (jest), package::Test (go). */
  name: string;
  status: CaseStatus;
  message?: string;
  trace?: string;
  /** Where the test lives, for re-running only it (a file for pytest/jest, a package for go). */
  location?: string;
  /** The runner's own name of the test (jest full name, go test name). */
  localName?: string;
  /** Which runner named it, when read from text output: how to re-run it for the flaky check. */
  runner?: 'pytest' | 'jest' | 'go';
}

export interface ParsedRun {
  cases: TestCase[];
  /** Counts when the runner reported only totals (text output); otherwise derived from cases. */
  counts?: { passed: number; failed: number; total: number };
}

export function countsOf(run: ParsedRun): { passed: number; failed: number; total: number } {
  if (run.counts) return run.counts;
  const ran = run.cases.filter((c) => c.status !== 'skipped');
  const failed = ran.filter((c) => c.status === 'failed' || c.status === 'error').length;
  return { passed: ran.length - failed, failed, total: ran.length };
}

export const isFailing = (c: TestCase): boolean => c.status === 'failed' || c.status === 'error';

/**
 * Names of the `failing` tests that passed in a re-run. A name read from text may lack its package
 * (go output cut before the package's closing line): such a test is matched by its own name.
 */
export function passedOnRerun(failing: readonly TestCase[], again: readonly TestCase[]): Set<string> {
  const passed = again.filter((c) => c.status === 'passed');
  const names = new Set(passed.map((c) => c.name));
  const local = new Set(passed.map((c) => c.localName).filter((n) => n !== undefined));
  return new Set(failing.filter((c) => names.has(c.name) || (!c.location && c.localName !== undefined && local.has(c.localName))).map((c) => c.name));
}

/** Lines without their common indentation (runners indent a test's output under its name). */
export function dedent(lines: readonly string[]): string {
  const indents = lines.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join('\n').trim();
}
