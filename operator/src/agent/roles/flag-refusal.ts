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

/**
 * The crash of each failing test in pytest's text output (the repair check's own run): its
 * "____ test_name ____" sections, each ending with where its exception was raised.
 */
export function crashesInOutput(output: string): Map<string, CodeCrash> {
  const crashes = new Map<string, CodeCrash>();
  const sections = output.split(/^_{3,} (\S+) _{3,}$/m);
  for (let k = 1; k + 1 < sections.length; k += 2) {
    const body = (sections[k + 1] as string).split(/^={3,}/m)[0] as string;
    const crash = crashInCode(body);
    if (crash) crashes.set(sections[k] as string, crash);
  }
  return crashes;
}

/**
 * Why flagging this test is refused; undefined to take the flag. Judged by the session's latest
 * test run when there is one (HumanEval/68, run 6: the flag came after repair's own edit raised
 * ValueError), else by the failure report the stage was handed.
 */
export function flagRefusal(report: FailureReport | undefined, latestRun: () => string | undefined = () => undefined): (name: string) => string | undefined {
  return (name) => {
    const output = latestRun();
    let test: string | undefined;
    let crash: CodeCrash | undefined;
    if (output !== undefined) {
      for (const [t, c] of crashesInOutput(output)) if (sameTest(t, name) || sameTest(name, t)) [test, crash] = [t, c];
    } else {
      const failure = report?.failures.find((f) => sameTest(f.name, name));
      [test, crash] = [failure?.name, failure && crashInCode(failure.trace)];
    }
    if (!crash) return undefined;
    const at = crash.line ? ` (\`${crash.line}\`)` : '';
    return `not flagged: ${test} fails because the implementation raised ${crash.exception} at ${crash.where}${at}, before the test compared anything. A test is wrong only when what it expects contradicts the goal; a crash in the code is the code's to fix. Fix ${crash.where.replace(/:\d+$/, '')}.`;
  };
}
