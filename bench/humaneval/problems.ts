// HumanEval problems as autorun tasks: the prompt (signature and docstring) as the goal, the
// package's check() as the hidden acceptance test. Pure text; no I/O but reading the data file.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'yaml';

export interface Problem {
  task_id: string;
  prompt: string;
  entry_point: string;
  canonical_solution: string;
  test: string;
}

/** The module every solution lives in, at the repository root. */
export const MODULE = 'solution';

export function readProblems(jsonlGz: string): Problem[] {
  return gunzipSync(readFileSync(jsonlGz))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Problem);
}

/** HumanEval/12 → 12. */
export function problemNumber(p: Problem): number {
  return Number(p.task_id.split('/')[1]);
}

/**
 * A fixed subset: n problems evenly spread over the 164 (problem 0, then every 164/n-th), so the
 * default run covers easy and hard ones alike and is the same problems on every machine.
 */
export function spreadSubset(all: Problem[], n: number): Problem[] {
  if (n >= all.length) return all;
  const picked = new Set<number>();
  for (let k = 0; k < n; k++) picked.add(Math.floor((k * all.length) / n));
  return all.filter((_, i) => picked.has(i));
}

/** autorun task names: lower-case DNS labels. */
export function taskName(p: Problem, arm: string): string {
  return `he-${problemNumber(p)}-${arm}`;
}

/**
 * The goal both the code and the test agent read, so it states what the code must do, not who
 * writes it (worded as an instruction to write solution.py, the test agent tried to write it, was
 * refused, and spent its turns). The docstring is shown with ''' instead of """ (the same Python):
 * the 1.5B model copies the prompt into write_file's JSON string and, twice out of twice, ended that
 * string at the docstring's closing \"\"\", so solution.py held the signature and no body.
 */
export function goalOf(p: Problem): string {
  return [
    `${MODULE}.py at the root of the repository provides the Python function \`${p.entry_point}\` below, completed: its body written so that it works as its docstring specifies. Code that uses it imports it as \`from ${MODULE} import ${p.entry_point}\`.`,
    '',
    '```python',
    p.prompt.trimEnd().replaceAll('"""', "'''"),
    '```',
  ].join('\n');
}

/** The hidden test, as pytest collects it: the package's check() against the solution module. */
export function acceptanceTest(p: Problem): string {
  return `from ${MODULE} import *  # noqa: F401,F403 (helpers some checks use)
from ${MODULE} import ${p.entry_point}

${p.test.trim()}


def test_humaneval_check():
    check(${p.entry_point})
`;
}

/** The judge both arms share: the same check() run as a plain script beside a solution file. */
export function judgeScript(p: Problem): string {
  return `${acceptanceTest(p)}

if __name__ == "__main__":
    test_humaneval_check()
    print("passed")
`;
}

/** A CodingTask manifest (with its ConfigMap of the hidden test), for `autorun run`. */
export function taskManifest(p: Problem, name: string, limits: { maxIterations: number; timeout: string }): string {
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-acceptance` }, data: { 'test_acceptance.py': acceptanceTest(p) } };
  const task = {
    apiVersion: 'autorun.dev/v1alpha1',
    kind: 'CodingTask',
    metadata: { name },
    spec: { goal: goalOf(p), language: 'python', test: { acceptance: { configMapRef: { name: `${name}-acceptance` } } }, limits },
  };
  return `${stringify(configMap)}---\n${stringify(task)}`;
}
