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
import { crashInCode, sectionsOf } from './pytest-trace.js';
import { brokenCheck } from './regression.js';
import { sameTestEither as matches } from './flagged-checks.js';

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
    const now = handed && latest && brokenCheck(handed.trace, latest[1]);
    if (now) {
      const check = now.check ? ` (\`${now.check}\`)` : '';
      return `not flagged: the check where ${test} fails now, ${now.path}:${now.line}${check}, passed before your change (the test failed further down, at line ${now.failedAt}). Your change broke it: the code did what that check expects before. Change the code so that it passes again.`;
    }
    return undefined;
  };
}
