// A flag is the repair agent's claim that a test contradicts the goal. Two failures cannot be that:
// - an exception raised inside the implementation: the test's expectation was never compared, the
//   code crashed first. The 1.5B repair agent flagged HumanEval/95's test "because the
//   implementation returns True" where the code had raised AttributeError on an int key (run 7),
//   and HumanEval/68's for the ValueError its own edit raised (run 6);
// - a check the code passed before the session's change: pytest runs a test's checks in order, so
//   one above the line the stage was handed as failing had passed. HumanEval/95's repair (run 8)
//   broke the goal's second example while fixing the third, then flagged the test for it.
// The flag was the small model's way out of fixing. Python (pytest) traces only: they name the test
// file's line that failed and end with "path:line: ExceptionType", where it was raised.
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

export interface FailingCheck {
  path: string;
  line: number;
  /** The test's line pytest marked, when it did. */
  check?: string;
}

/** The test file's line a failing test stopped at: the first "path:line:" of a test file in its trace. */
export function failingCheck(trace: string): FailingCheck | undefined {
  const lines = trace.split('\n');
  for (const l of lines) {
    const m = /^(\S+?\.py):(\d+):/.exec(l.trim());
    if (!m || !isTestPath(m[1] as string)) continue;
    const marked = lines.find((x) => /^>\s+\S/.test(x));
    return { path: m[1] as string, line: Number(m[2]), ...(marked ? { check: marked.replace(/^>\s+/, '').trim() } : {}) };
  }
  return undefined;
}

/** Each failing test's part of pytest's text output (the repair check's own run), by its "____ test_name ____" header. */
export function sectionsOf(output: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = output.split(/^_{3,} (\S+) _{3,}$/m);
  for (let k = 1; k + 1 < parts.length; k += 2) out.set(parts[k] as string, (parts[k + 1] as string).split(/^={3,}/m)[0] as string);
  return out;
}

const matches = (a: string, b: string): boolean => sameTest(a, b) || sameTest(b, a);

/**
 * Why flagging this test is refused; undefined to take the flag. Judged by the session's latest
 * test run when there is one (the repair check's), else by the failure report the stage was handed.
 */
export function flagRefusal(report: FailureReport | undefined, latestRun: () => string | undefined = () => undefined): (name: string) => string | undefined {
  return (name) => {
    const handed = report?.failures.find((f) => matches(f.name, name));
    const output = latestRun();
    const latest = output === undefined ? undefined : [...sectionsOf(output)].find(([t]) => matches(t, name));
    const [test, trace] = output === undefined ? [handed?.name, handed?.trace] : (latest ?? []);
    if (!test || trace === undefined) return undefined;
    const crash = crashInCode(trace);
    if (crash) {
      const at = crash.line ? ` (\`${crash.line}\`)` : '';
      return `not flagged: ${test} fails because the implementation raised ${crash.exception} at ${crash.where}${at}, before the test compared anything. A test is wrong only when what it expects contradicts the goal; a crash in the code is the code's to fix. Fix ${crash.where.replace(/:\d+$/, '')}.`;
    }
    const before = handed && failingCheck(handed.trace);
    const now = latest && failingCheck(latest[1]);
    if (before && now && now.path === before.path && now.line < before.line) {
      const check = now.check ? ` (\`${now.check}\`)` : '';
      return `not flagged: the check where ${test} fails now, ${now.path}:${now.line}${check}, passed before your change (the test failed further down, at line ${before.line}). Your change broke it: the code did what that check expects before. Change the code so that it passes again.`;
    }
    return undefined;
  };
}
