// Whether a change made the failure worse than the one the stage was handed. In bench run 9 the
// 1.5B repair agent's first edit broke what had worked both times it failed to fix something:
// HumanEval/95's filter made the goal's second example fail where only the third had, HumanEval/68's
// float('None') crashed every check. It never got back: every later turn flagged or finished from
// the broken code. Judged from pytest's text output and traces only (the repair check's own run).
import type { FailureReport } from '../runner/report.js';
import { failingCheck, sectionsOf } from './pytest-trace.js';
import type { FailingCheck } from './pytest-trace.js';
import { sameTestEither as matches } from './flagged-checks.js';

/** The tests pytest's short summary names as failed ("FAILED path::name - why"). */
export function failedTests(output: string): string[] {
  return [...output.matchAll(/^(?:FAILED|ERROR) (\S+)/gm)].map((m) => m[1] as string);
}

/**
 * The check a test fails at now that it passed before: pytest runs a test's checks in order, so a
 * check above the line the test was handed as failing at had passed.
 */
export function brokenCheck(handedTrace: string, latestTrace: string): (FailingCheck & { failedAt: number }) | undefined {
  const before = failingCheck(handedTrace);
  const now = failingCheck(latestTrace);
  return before && now && now.path === before.path && now.line < before.line ? { ...now, failedAt: before.line } : undefined;
}

/**
 * What the latest run shows broken that worked when the stage was handed its report; undefined when
 * nothing did, or when fewer tests fail than before (a change that fixes more than it breaks is
 * progress), or when the output is not pytest's.
 */
export function worseThanHanded(report: FailureReport, output: string): string | undefined {
  const failed = failedTests(output);
  if (!failed.length || failed.length < report.tests.failed) return undefined;
  const sections = [...sectionsOf(output)];
  const broken: string[] = [];
  for (const name of failed) {
    const handed = report.failures.find((f) => matches(f.name, name));
    if (!handed) {
      // A report lists at most its first failures; past that a test's earlier state is unknown.
      if (report.failures.length >= report.tests.failed) broken.push(`${name} passed before your change and fails now`);
      continue;
    }
    const trace = sections.find(([t]) => matches(name, t))?.[1];
    const check = trace === undefined ? undefined : brokenCheck(handed.trace, trace);
    if (check) broken.push(`${check.path}:${check.line}${check.check ? ` (\`${check.check}\`)` : ''} passed before your change and fails now`);
  }
  return broken.length ? broken.join('; ') : undefined;
}
