// A flag is the repair agent's claim that a test contradicts the goal. A test whose failure is an
// exception raised inside the implementation is no such test: its expected value was never
// compared, the code crashed first. The 1.5B repair agent flagged HumanEval/95's test "because the
// implementation returns True" where the code had raised AttributeError on an int key (run 7), and
// HumanEval/68's for the ValueError its own edit raised (run 6): the flag was its way out of fixing.
// Python (pytest) traces only: they end with "path:line: ExceptionType", naming where it was raised.
import type { FailureReport } from '../runner/report.js';
import { isTestPath } from '../tools/paths.js';
import { sameTest } from './flagged-checks.js';

export interface CodeCrash {
  exception: string;
  /** path:line of the raise, a file of the implementation. */
  where: string;
  /** The line pytest marked there, when it did. */
  line?: string;
}

/** Where a failing test's exception was raised, when that was in the implementation and not an assertion. */
export function crashInCode(trace: string): CodeCrash | undefined {
  const lines = trace.trimEnd().split('\n');
  const last = /^(\S+?\.py):(\d+): (\w+(?:\.\w+)*)$/.exec(lines[lines.length - 1]?.trim() ?? '');
  if (!last) return undefined;
  const [, path, lineNo, exception] = last as unknown as [string, string, string, string];
  if (isTestPath(path) || /(^|\.)AssertionError$/.test(exception) || path.includes('site-packages/')) return undefined;
  // The line pytest marked with ">" last is the one that raised.
  const marked = lines.filter((l) => /^>\s+\S/.test(l)).pop();
  return { exception, where: `${path}:${lineNo}`, ...(marked ? { line: marked.replace(/^>\s+/, '').trim() } : {}) };
}

/** Why flagging this test is refused, given the failure report the stage was handed; undefined to accept it. */
export function flagRefusal(report: FailureReport | undefined): (name: string) => string | undefined {
  return (name) => {
    const failure = report?.failures.find((f) => sameTest(f.name, name));
    const crash = failure && crashInCode(failure.trace);
    if (!crash) return undefined;
    const at = crash.line ? ` (\`${crash.line}\`)` : '';
    return `not flagged: ${failure.name} fails because the implementation raised ${crash.exception} at ${crash.where}${at}, before the test compared anything. A test is wrong only when what it expects contradicts the goal; a crash in the code is the code's to fix. Fix ${crash.where.replace(/:\d+$/, '')}.`;
  };
}
