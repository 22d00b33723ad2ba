// How to run a project's tests and read the results: detected from the language, or the task's
// command. Each plan can re-run just some failing tests once, for the flaky check.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseGoTestJson } from './go-json.js';
import { parseJestJson } from './jest-json.js';
import { parseJUnit } from './junit.js';
import { parseTextSummary } from './text-summary.js';
import type { ParsedRun, TestCase } from './types.js';
import type { Language } from '../context.js';

export interface RunPlan {
  command: string;
  /** Reads the results of the command just run (its stdout and the files it wrote). */
  parse(stdout: string, output: string): ParsedRun | undefined;
  /** A plan that runs only these tests, when the runner can select them. */
  rerun?(failing: TestCase[]): RunPlan | undefined;
}

/** Single-quotes for /bin/sh. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function onPath(bin: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

const readIf = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function pytestPlan(python: string, extra: string, targets: string[], out: string, n = 0): RunPlan {
  const xml = join(out, `junit-${n}.xml`);
  return {
    command: `${python} -m pytest -q -p no:cacheprovider -o junit_family=xunit1 --junitxml=${q(xml)}${extra}${targets.map((t) => ' ' + q(t)).join('')}`,
    parse: (_stdout, output) => {
      const x = readIf(xml);
      return x ? parseJUnit(x) : parseTextSummary(output);
    },
    rerun: (failing) => {
      const ids = failing.filter((c) => c.name.includes('::') && !c.name.endsWith('::')).map((c) => c.name);
      return ids.length === failing.length ? pytestPlan(python, extra, ids, out, n + 1) : undefined;
    },
  };
}

function jestPlan(jest: string, root: string, targets: string[], out: string, n = 0, names?: string[]): RunPlan {
  const file = join(out, `jest-${n}.json`);
  const filter = names ? ` -t ${q(`^(${names.map(escapeRegex).join('|')})$`)}` : '';
  return {
    command: `${q(jest)} --ci --json --outputFile=${q(file)}${filter}${targets.map((t) => ' ' + q(t)).join('')}`,
    parse: (_stdout, output) => {
      const x = readIf(file);
      return x ? parseJestJson(x, root) : parseTextSummary(output);
    },
    rerun: (failing) => {
      if (failing.some((c) => !c.localName || !c.location)) return undefined;
      return jestPlan(jest, root, [...new Set(failing.map((c) => c.location!))], out, n + 1, failing.map((c) => c.localName!));
    },
  };
}

function goPlan(targets: string[], names?: string[]): RunPlan {
  const run = names ? ` -run ${q(`^(${names.map((n) => escapeRegex(n.split('/')[0]!)).join('|')})$`)}` : '';
  return {
    command: `go test -json${run} ${targets.map(q).join(' ')}`,
    parse: (stdout) => parseGoTestJson(stdout),
    rerun: (failing) => {
      if (failing.some((c) => !c.localName || !c.location)) return undefined;
      return goPlan([...new Set(failing.map((c) => c.location!))], [...new Set(failing.map((c) => c.localName!))]);
    },
  };
}

function customPlan(command: string): RunPlan {
  return { command, parse: (_stdout, output) => parseTextSummary(output) };
}

export interface PlanInput {
  language: Language;
  root: string;
  /** Directory for report files (outside the workspace). */
  out: string;
  env: NodeJS.ProcessEnv;
  command?: string;
  /** Restrict to these paths (acceptance: the hidden tests' directory). */
  targets?: string[];
}

export class NoRunnerError extends Error {}

export function planFor(p: PlanInput): RunPlan {
  const python = onPath('python', p.env) ? 'python' : 'python3';
  if (p.command) {
    // `pytest ...` and `python -m pytest ...` commands get a JUnit report so counts come from it.
    const py = /^\s*(pytest|python3?\s+-m\s+pytest)(\s+(.*))?$/.exec(p.command);
    if (py) return pytestPlan(py[1] === 'pytest' ? python : py[1]!.split(/\s+/)[0]!, py[2] ?? '', [], p.out);
    return customPlan(p.command);
  }
  switch (p.language) {
    case 'python':
      return pytestPlan(python, '', p.targets ?? [], p.out);
    case 'javascript':
    case 'typescript': {
      const jest = [join(p.root, 'node_modules', '.bin', 'jest')].find(existsSync) ?? onPath('jest', p.env);
      if (!jest) throw new NoRunnerError('jest is not installed in the project (node_modules/.bin/jest) nor on PATH; set spec.test.command');
      return jestPlan(jest, p.root, p.targets ?? [], p.out);
    }
    case 'go':
      return goPlan(p.targets ?? ['./...']);
    case 'other':
      throw new NoRunnerError('language other needs spec.test.command');
  }
}
