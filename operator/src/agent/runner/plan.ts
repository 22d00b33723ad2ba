// How to run a project's tests and read the results: detected from the language, or the task's
// command. Each plan can re-run just some failing tests once, for the flaky check. Runners that can
// write a report are asked to (pytest JUnit XML, jest --json, go test -json), also through a given
// `pytest`, `npm test` (when the script is jest) or `go test` command; anything else is read from its
// text output, whose failing names still lead to a re-run with the runner that printed them.
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
const args = (xs: string[]): string => xs.map((x) => ' ' + q(x)).join('');

function pytestPlan(python: string, extra: string, targets: string[], out: string, n = 0): RunPlan {
  const xml = join(out, `junit-${n}.xml`);
  return {
    // -v names each test as it starts, so a test that hangs is named in the output when it is killed.
    command: `${python} -m pytest -v -p no:cacheprovider -o junit_family=xunit1 --junitxml=${q(xml)}${extra}${args(targets)}`,
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

/**
 * jest with a --json report. `base` starts jest: the binary itself, or `npm test --` when the
 * project's test script is jest (its own flags and config come along; npm appends ours).
 */
function jestPlan(base: string, root: string, targets: string[], out: string, n = 0, names?: string[]): RunPlan {
  const file = join(out, `jest-${n}.json`);
  const filter = names ? ` -t ${q(`^(${names.map(escapeRegex).join('|')})$`)}` : '';
  return {
    command: `${base} --ci --json --outputFile=${q(file)}${filter}${args(targets)}`,
    parse: (_stdout, output) => {
      const x = readIf(file);
      return x ? parseJestJson(x, root) : parseTextSummary(output);
    },
    rerun: (failing) => {
      if (failing.some((c) => !c.localName || !c.location)) return undefined;
      return jestPlan(base, root, [...new Set(failing.map((c) => c.location!))], out, n + 1, failing.map((c) => c.localName!));
    },
  };
}

/**
 * `go test -json`. `given` is the rest of a task's own `go test ...` command (flags and packages; go
 * accepts flags after the packages, so -run can follow); otherwise the plan picks the packages.
 */
function goPlan(given: string, targets: string[], names?: string[]): RunPlan {
  // -run takes the top-level test: a failing subtest re-runs its parent (go has no way around it).
  const top = names && [...new Set(names.map((n) => n.split('/')[0]!))];
  const run = top ? ` -run ${q(`^(${top.map(escapeRegex).join('|')})$`)}` : '';
  return {
    command: `go test -json${given}${args(targets)}${run}`,
    parse: (stdout) => parseGoTestJson(stdout),
    rerun: (failing) => {
      if (failing.some((c) => !c.localName)) return undefined;
      const pkgs = !given && failing.every((c) => c.location) ? [...new Set(failing.map((c) => c.location!))] : targets;
      return goPlan(given, pkgs, failing.map((c) => c.localName!));
    },
  };
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

/** The project's package.json test script, unless it is missing or npm init's placeholder. */
export function npmTestScript(root: string): string | undefined {
  const text = readIf(join(root, 'package.json'));
  if (!text) return undefined;
  let pkg: { scripts?: Record<string, unknown> } | null;
  try {
    pkg = JSON.parse(text) as { scripts?: Record<string, unknown> } | null;
  } catch {
    return undefined;
  }
  const script = pkg?.scripts?.test;
  return typeof script === 'string' && script.trim() && !script.includes('no test specified') ? script : undefined;
}

/** One shell command, nothing chained or redirected: flags appended to it reach its program. */
const simple = (command: string): boolean => !/[;&|<>`\n]|\$\(/.test(command);

/** A single jest invocation (`jest`, `npx jest`, `node --flag node_modules/jest/bin/jest.js`). */
export function isJestScript(script: string): boolean {
  return simple(script) && script.trim().split(/\s+/).some((t) => /(^|\/)jest(\.js)?$/.test(t));
}

function directJest(p: PlanInput): string | undefined {
  return [join(p.root, 'node_modules', '.bin', 'jest')].find(existsSync) ?? onPath('jest', p.env);
}

/** How to start jest with our flags: the binary, or npm when the test script is jest. */
function jestBase(p: PlanInput, preferNpm: boolean): string | undefined {
  const script = npmTestScript(p.root);
  const viaNpm = script && isJestScript(script) && onPath('npm', p.env) ? 'npm test --' : undefined;
  const jest = directJest(p);
  return preferNpm ? (viaNpm ?? (jest && q(jest))) : ((jest && q(jest)) ?? viaNpm);
}

/**
 * A command read from its text: counts from the closing lines, failing names from what the runner
 * printed, and a re-run of those with that runner (asked for a report this time).
 */
function textPlan(command: string, p: PlanInput, python: string): RunPlan {
  return {
    command,
    parse: (_stdout, output) => parseTextSummary(output),
    rerun: (failing) => {
      const runners = new Set(failing.map((c) => c.runner));
      if (runners.size !== 1) return undefined;
      switch ([...runners][0]) {
        case 'pytest':
          return pytestPlan(python, '', [], p.out).rerun!(failing);
        case 'jest': {
          const base = jestBase(p, true);
          return base ? jestPlan(base, p.root, [], p.out).rerun!(failing) : undefined;
        }
        case 'go':
          return goPlan('', ['./...']).rerun!(failing);
        default:
          return undefined;
      }
    },
  };
}

/**
 * A command the task gives. pytest and jest commands are pointed at the targets too (acceptance
 * run with the task's own test command: the hidden tests alone, so the agents' tests, which may be
 * wrong, cannot veto what the author's tests accept); other commands run as they are.
 */
function givenPlan(command: string, p: PlanInput, python: string): RunPlan {
  if (!simple(command)) return textPlan(command, p, python);
  const targets = p.targets ?? [];
  // `pytest ...` and `python -m pytest ...` commands get a JUnit report so counts come from it.
  const py = /^\s*(pytest|python3?\s+-m\s+pytest)(\s+(.*))?$/.exec(command);
  if (py) return pytestPlan(py[1] === 'pytest' ? python : py[1]!.split(/\s+/)[0]!, py[2] ?? '', targets, p.out);
  const go = /^\s*go\s+test(\s.*)?$/.exec(command);
  if (go && !/(^|\s)-json\b/.test(go[1] ?? '')) return goPlan((go[1] ?? '').trimEnd(), []);
  if (/^\s*(npx\s+)?jest(\s|$)/.test(command)) return jestPlan(command.trim(), p.root, targets, p.out);
  const npm = /^\s*npm\s+(test|t|run\s+test|run-script\s+test)(\s.*)?$/.exec(command);
  const script = npmTestScript(p.root);
  if (npm && script && isJestScript(script)) {
    const rest = npm[2] ?? '';
    return jestPlan(/(^|\s)--(\s|$)/.test(rest) ? command.trim() : `${command.trim()} --`, p.root, [], p.out);
  }
  return textPlan(command, p, python);
}

function jsPlan(p: PlanInput, python: string): RunPlan {
  const script = npmTestScript(p.root);
  const npm = onPath('npm', p.env);
  if (script && npm) {
    if (isJestScript(script)) return jestPlan('npm test --', p.root, p.targets ?? [], p.out);
    // Hidden acceptance tests must be what runs, and only jest can be pointed at them.
    if (!p.targets) return textPlan('npm test', p, python);
  }
  const jest = directJest(p);
  if (jest) return jestPlan(q(jest), p.root, p.targets ?? [], p.out);
  if (script && !npm) throw new NoRunnerError('package.json has a test script but npm is not on PATH, and jest is not installed; set spec.test.command');
  if (script) throw new NoRunnerError(`the package.json test script (${script}) is not jest, so it cannot run only the hidden tests, and jest is not installed; set spec.test.acceptance.command`);
  throw new NoRunnerError('no test script in package.json, and jest is not installed in the project (node_modules/.bin/jest) nor on PATH; set spec.test.command');
}

export function planFor(p: PlanInput): RunPlan {
  const python = onPath('python', p.env) ? 'python' : 'python3';
  if (p.command) return givenPlan(p.command, p, python);
  switch (p.language) {
    case 'python':
      return pytestPlan(python, '', p.targets ?? [], p.out);
    case 'javascript':
    case 'typescript':
      return jsPlan(p, python);
    case 'go':
      return goPlan('', p.targets ?? ['./...']);
    case 'other':
      throw new NoRunnerError('language other needs spec.test.command');
  }
}
