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
