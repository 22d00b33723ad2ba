// Which command runs a project's tests, how its results are read, and how the flaky check re-runs
// only the failing ones. The projects are real directories; what is "installed" is what PATH and
// node_modules/.bin hold (onPath and the plans look for files, nothing is executed here).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoRunnerError, isJestScript, npmTestScript, planFor } from '../../../../operator/src/agent/runner/plan.js';
import type { PlanInput } from '../../../../operator/src/agent/runner/plan.js';
import type { TestCase } from '../../../../operator/src/agent/runner/types.js';
import { tempDir } from '../helpers.js';

const fixture = (name: string): string => readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');

/** A bin directory holding these (empty, executable) programs. */
function bin(...names: string[]): string {
  const dir = tempDir('autorun-bin-');
  for (const n of names) {
    writeFileSync(join(dir, n), '#!/bin/sh\n');
    chmodSync(join(dir, n), 0o755);
  }
  return dir;
}

function project(files: Record<string, string> = {}): string {
  const root = tempDir('autorun-project-');
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), c);
  }
  return root;
}

function input(over: Partial<PlanInput>): PlanInput {
  return { language: 'python', root: project(), out: tempDir('autorun-out-'), env: { PATH: bin() }, ...over };
}

const failing = (name: string, extra: Partial<TestCase> = {}): TestCase => ({ name, status: 'failed', ...extra });

describe('python', () => {
  test('pytest with a JUnit report in the out dir; python when on PATH, else python3', () => {
    const p = input({ env: { PATH: bin('python') } });
    const plan = planFor(p);
    expect(plan.command).toBe(`python -m pytest -v -p no:cacheprovider -o junit_family=xunit1 --junitxml='${join(p.out, 'junit-0.xml')}'`);
    expect(planFor(input({})).command).toMatch(/^python3 -m pytest /);
    // Counts come from the XML the run wrote, and from the text when it wrote none.
    expect(plan.parse('', fixture('pytest-q.out'))!.counts).toEqual({ passed: 1, failed: 1, total: 2 });
    writeFileSync(join(p.out, 'junit-0.xml'), fixture('pytest-xunit1.xml'));
    expect(plan.parse('', '')!.cases.map((c) => c.status)).toEqual(['passed', 'failed', 'skipped']);
  });

  test('re-runs node ids, with a new report; not tests it cannot name', () => {
    const p = input({ targets: ['autorun-acceptance'] });
    const plan = planFor(p);
    expect(plan.command).toMatch(/ 'autorun-acceptance'$/);
    const again = plan.rerun!([failing('tests/test_a.py::test_x'), failing("tests/test_a.py::test_y[it's]")])!;
    expect(again.command).toContain(`--junitxml='${join(p.out, 'junit-1.xml')}'`);
    expect(again.command).toMatch(/ 'tests\/test_a.py::test_x' 'tests\/test_a.py::test_y\[it'\\''s\]'$/);
    expect(plan.rerun!([failing('tests/test_a.py')])).toBeUndefined();
  });
});

describe('javascript and typescript', () => {
  const jsonFile = (out: string, n: number): string => `--outputFile='${join(out, `jest-${n}.json`)}'`;

  test('no test script: the project jest binary, with a --json report', () => {
    const root = project({ 'node_modules/.bin/jest': '', 'package.json': '{"name":"p"}' });
    const p = input({ language: 'javascript', root, env: { PATH: bin('npm') } });
    const plan = planFor(p);
    expect(plan.command).toBe(`'${join(root, 'node_modules/.bin/jest')}' --ci --json ${jsonFile(p.out, 0)}`);
    writeFileSync(join(p.out, 'jest-0.json'), fixture('jest.json').replaceAll('/project', root));
    expect(plan.parse('', '')!.cases.map((c) => c.name)).toContain('__tests__/a.test.js::math fails');
    const again = plan.rerun!([failing('__tests__/a.test.js::math fails', { location: '__tests__/a.test.js', localName: 'math fails' })])!;
    expect(again.command).toBe(`'${join(root, 'node_modules/.bin/jest')}' --ci --json ${jsonFile(p.out, 1)} -t '^(math fails)$' '__tests__/a.test.js'`);
  });

  test('jest on PATH when the project has none; npm init placeholder counts as no script', () => {
    const root = project({ 'package.json': JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }) });
    const path = bin('jest', 'npm');
    expect(planFor(input({ language: 'typescript', root, env: { PATH: path } })).command).toMatch(new RegExp(`^'${join(path, 'jest')}' --ci --json`));
  });

  test('a jest test script runs as npm test, our flags passed through to jest', () => {
    const root = project({ 'package.json': JSON.stringify({ scripts: { test: 'jest --coverage' } }), 'node_modules/.bin/jest': '' });
    const p = input({ language: 'javascript', root, env: { PATH: bin('npm') } });
    const plan = planFor(p);
    expect(plan.command).toBe(`npm test -- --ci --json ${jsonFile(p.out, 0)}`);
    const again = plan.rerun!([
      failing('a.test.js::x y', { location: 'a.test.js', localName: 'x y' }),
      failing('b.test.js::z (1+1)', { location: 'b.test.js', localName: 'z (1+1)' }),
    ])!;
    expect(again.command).toBe(`npm test -- --ci --json ${jsonFile(p.out, 1)} -t '^(x y|z \\(1\\+1\\))$' 'a.test.js' 'b.test.js'`);
    // A suite that failed to run has no test name to select: no re-run.
    expect(plan.rerun!([failing('c.test.js::(suite)', { location: 'c.test.js' })])).toBeUndefined();
    // Acceptance: npm passes the hidden tests' directory on to jest.
    expect(planFor({ ...p, targets: ['autorun-acceptance'] }).command).toMatch(/^npm test -- --ci --json .* 'autorun-acceptance'$/);
  });

  test('other test scripts run as npm test and are read from their text; failing jest names re-run with jest', () => {
    const root = project({ 'package.json': JSON.stringify({ scripts: { test: 'jest && eslint .' } }), 'node_modules/.bin/jest': '' });
    const p = input({ language: 'javascript', root, env: { PATH: bin('npm') } });
    const plan = planFor(p);
    expect(plan.command).toBe('npm test');
    const run = plan.parse('', fixture('jest-npm.out'))!;
    expect(run.counts).toEqual({ passed: 2, failed: 3, total: 5 });
    const names = run.cases.filter((c) => c.status === 'failed');
    expect(plan.rerun!(names)!.command).toBe(
      `'${join(root, 'node_modules/.bin/jest')}' --ci --json ${jsonFile(p.out, 1)} -t '^(math fails|math nested deep also fails|top level fails)$' '__tests__/a.test.js'`,
    );
  });

  test('hidden tests cannot go through a script that is not jest: jest itself, or no runner', () => {
    const withJest = project({ 'package.json': JSON.stringify({ scripts: { test: 'mocha' } }), 'node_modules/.bin/jest': '' });
    expect(planFor(input({ language: 'javascript', root: withJest, env: { PATH: bin('npm') }, targets: ['autorun-acceptance'] })).command).toMatch(/bin\/jest' --ci --json .* 'autorun-acceptance'$/);
    const without = project({ 'package.json': JSON.stringify({ scripts: { test: 'mocha' } }) });
    expect(() => planFor(input({ language: 'javascript', root: without, env: { PATH: bin('npm') }, targets: ['autorun-acceptance'] }))).toThrow(/not jest.*acceptance\.command/);
  });

  test('a test script but no npm: jest directly, or no runner', () => {
    const root = project({ 'package.json': JSON.stringify({ scripts: { test: 'jest' } }) });
    expect(() => planFor(input({ language: 'javascript', root }))).toThrow(/npm is not on PATH/);
    expect(planFor(input({ language: 'javascript', root, env: { PATH: bin('jest') } })).command).toMatch(/bin-\w+\/jest' --ci --json/);
  });

  test('what counts as a jest script', () => {
    expect(isJestScript('jest')).toBe(true);
    expect(isJestScript('npx jest --runInBand')).toBe(true);
    expect(isJestScript('node --experimental-vm-modules node_modules/jest/bin/jest.js')).toBe(true);
    expect(isJestScript('cross-env NODE_ENV=test jest')).toBe(true);
    expect(isJestScript('vitest run')).toBe(false);
    expect(isJestScript('jest && eslint .')).toBe(false);
    expect(isJestScript('jest | tee out.txt')).toBe(false);
    expect(npmTestScript(project({ 'package.json': '{not json' }))).toBeUndefined();
    expect(npmTestScript(project({}))).toBeUndefined();
  });
});

describe('go', () => {
  test('go test -json over all packages; the re-run picks the failing packages and top-level tests', () => {
    const plan = planFor(input({ language: 'go' }));
    expect(plan.command).toBe(`go test -json './...'`);
    const run = plan.parse(fixture('go-test.json'), '')!;
    const failed = run.cases.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.name)).toEqual(['example.com/m::TestBad', 'example.com/m::TestBad/sub']);
    expect(plan.rerun!(failed)!.command).toBe(`go test -json 'example.com/m' -run '^(TestBad)$'`);
    // A package that did not build has no test to select.
    expect(plan.rerun!(run.cases.filter((c) => c.status === 'error'))).toBeUndefined();
  });
});

describe('a given command', () => {
  test('pytest and python -m pytest keep their arguments and get a JUnit report', () => {
    const p = input({ language: 'python', command: 'pytest -x tests/unit' });
    expect(planFor(p).command).toBe(`python3 -m pytest -v -p no:cacheprovider -o junit_family=xunit1 --junitxml='${join(p.out, 'junit-0.xml')}' -x tests/unit`);
    expect(planFor(input({ command: 'python3.12 -m pytest' })).command).toBe('python3.12 -m pytest'); // not a python it knows: text
    expect(planFor(input({ command: 'python -m pytest -q' })).command).toMatch(/^python -m pytest -v -p no:cacheprovider .* -q$/);
  });

  test('pointed at the hidden tests (acceptance with the task\'s test command): pytest and jest get the target, other commands run as given', () => {
    expect(planFor(input({ command: 'python3 -m pytest -q', targets: ['autorun-acceptance'] })).command).toMatch(/^python3 -m pytest -v .* -q 'autorun-acceptance'$/);
    expect(planFor(input({ language: 'javascript', command: 'npx jest', targets: ['autorun-acceptance'] })).command).toMatch(/^npx jest --ci --json .* 'autorun-acceptance'$/);
    expect(planFor(input({ command: 'make check', targets: ['autorun-acceptance'] })).command).toBe('make check');
  });

  test('go test gets -json, keeps its flags and packages, and re-runs with -run after them', () => {
    const plan = planFor(input({ language: 'go', command: 'go test -tags integration ./pkg/...' }));
    expect(plan.command).toBe('go test -json -tags integration ./pkg/...');
    const again = plan.rerun!([failing('example.com/m/pkg/a::TestX', { location: 'example.com/m/pkg/a', localName: 'TestX' })])!;
    expect(again.command).toBe(`go test -json -tags integration ./pkg/... -run '^(TestX)$'`);
    expect(planFor(input({ language: 'go', command: 'go test -json ./...' })).command).toBe('go test -json ./...');
  });

  test('npm test when the script is jest, and jest itself, report as JSON', () => {
    const root = project({ 'package.json': JSON.stringify({ scripts: { test: 'jest' } }) });
    const p = input({ language: 'javascript', root, env: { PATH: bin('npm') }, command: 'npm test' });
    expect(planFor(p).command).toBe(`npm test -- --ci --json --outputFile='${join(p.out, 'jest-0.json')}'`);
    expect(planFor({ ...p, command: 'npm test -- --runInBand' }).command).toMatch(/^npm test -- --runInBand --ci --json /);
    expect(planFor({ ...p, command: 'npx jest src' }).command).toMatch(/^npx jest src --ci --json /);
  });

  test('anything else is read from its text, and re-runs the names it printed with their runner', () => {
    const p = input({ language: 'go', command: 'make test' });
    const plan = planFor(p);
    expect(plan.command).toBe('make test');
    const run = plan.parse('', fixture('go-test.out'))!;
    const failed = run.cases.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.name)).toEqual(['example.com/m::TestBad', 'example.com/m::TestBad/sub', 'example.com/m::TestAlsoBad']);
    expect(plan.rerun!(failed)!.command).toBe(`go test -json 'example.com/m' -run '^(TestBad|TestAlsoBad)$'`);
    // Go names without their package line: all packages, selected by name.
    expect(plan.rerun!([failing('TestX', { localName: 'TestX', runner: 'go' })])!.command).toBe(`go test -json './...' -run '^(TestX)$'`);

    const pytestNames = planFor(input({ command: 'make check' })).parse('', fixture('pytest-q.out'))!.cases;
    expect(planFor(input({ command: 'make check' })).rerun!(pytestNames)!.command).toMatch(/-m pytest .* 'tests\/test_calc.py::TestAdd::test_bad'$/);
    // Mixed or unknown runners: no re-run.
    expect(plan.rerun!([...failed, ...pytestNames])).toBeUndefined();
    expect(plan.rerun!([failing('something')])).toBeUndefined();
  });

  test('a chained command is run as written (flags appended would reach the wrong program)', () => {
    expect(planFor(input({ command: 'pytest -q && echo done' })).command).toBe('pytest -q && echo done');
    expect(planFor(input({ language: 'go', command: 'go test ./... | tee out' })).command).toBe('go test ./... | tee out');
  });
});

test('no runner: language other without a command, javascript without jest or a test script', () => {
  expect(() => planFor(input({ language: 'other' }))).toThrow(NoRunnerError);
  expect(() => planFor(input({ language: 'javascript' }))).toThrow(/no test script in package.json, and jest is not installed/);
  expect(planFor(input({ language: 'other', command: './run-tests.sh' })).command).toBe('./run-tests.sh');
});
