// The runners' real output (captured from pytest 9, jest 30 and go 1.26) read into test cases.
// go-test*.out and jest-npm.out: `go test [-v] ./...` and `npm test` (script: jest) of small projects.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseGoTestJson } from '../../../../operator/src/agent/runner/go-json.js';
import { parseJestJson } from '../../../../operator/src/agent/runner/jest-json.js';
import { parseJUnit, pytestNodeId } from '../../../../operator/src/agent/runner/junit.js';
import { parseTextSummary } from '../../../../operator/src/agent/runner/text-summary.js';
import { countsOf } from '../../../../operator/src/agent/runner/types.js';
import { parseXml } from '../../../../operator/src/agent/runner/xml.js';

const fixture = (name: string): string => readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');

describe('JUnit XML (pytest xunit1)', () => {
  test('rebuilds pytest node ids, counts skipped apart, keeps message and trace', () => {
    const run = parseJUnit(fixture('pytest-xunit1.xml'));
    expect(run.cases.map((c) => [c.name, c.status])).toEqual([
      ['tests/test_calc.py::TestAdd::test_ok', 'passed'],
      ['tests/test_calc.py::TestAdd::test_bad', 'failed'],
      ['tests/test_calc.py::test_skip', 'skipped'],
    ]);
    expect(countsOf(run)).toEqual({ passed: 1, failed: 1, total: 2 });
    const bad = run.cases[1]!;
    expect(bad.message).toBe('assert 3 == 4\n +  where 3 = add(1, 2)');
    expect(bad.trace).toContain('>       assert add(1,2)==4');
    expect(bad.trace).toContain('<test_calc.TestAdd object');
  });

  test('a collection error becomes one error case named after the file', () => {
    const run = parseJUnit(fixture('pytest-collection-error.xml'));
    expect(run.cases).toHaveLength(1);
    expect(run.cases[0]).toMatchObject({ name: 'tests/test_broken.py', status: 'error', message: 'collection failure' });
    expect(run.cases[0]!.trace).toContain("No module named 'nonexistent_mod'");
  });

  test('node ids for nested classes and plain JUnit names', () => {
    expect(pytestNodeId('tests/test_a.py', 'tests.test_a.TestX.TestY', 'test_z')).toBe('tests/test_a.py::TestX::TestY::test_z');
    expect(parseJUnit('<testsuite><testcase classname="com.x.ATest" name="works"/></testsuite>').cases[0]!.name).toBe('com.x.ATest.works');
  });

  test('XML reader: entities, CDATA, self-closing tags', () => {
    const doc = parseXml('<?xml version="1.0"?><a x="1 &amp; 2"><b/><c><![CDATA[<raw>]]>&#65;&#x42;</c></a>');
    const a = doc.children[0]!;
    expect(a.attrs.x).toBe('1 & 2');
    expect(a.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(a.children[1]!.text).toBe('<raw>AB');
  });
});

test('jest --json: file::full name, skipped apart, a suite that cannot run is one error', () => {
  const run = parseJestJson(fixture('jest.json'), '/project');
  expect(run.cases.map((c) => [c.name, c.status])).toEqual([
    ['__tests__/a.test.js::math adds', 'passed'],
    ['__tests__/a.test.js::math fails', 'failed'],
    ['__tests__/a.test.js::math skipped', 'skipped'],
    ['__tests__/b.test.js::(suite)', 'error'],
  ]);
  expect(countsOf(run)).toEqual({ passed: 1, failed: 2, total: 3 });
  expect(run.cases[1]!.message).toBe('Error: expect(received).toBe(expected) // Object.is equality\nExpected: 3\nReceived: 2');
  expect(run.cases[1]).toMatchObject({ location: '__tests__/a.test.js', localName: 'math fails' });
  expect(run.cases[3]!.message).toMatch(/^Cannot find module '.\/nope'/);
});

test('go test -json: subtests, and a package that does not build', () => {
  const run = parseGoTestJson(fixture('go-test.json'));
  const byName = Object.fromEntries(run.cases.map((c) => [c.name, c]));
  expect(byName['example.com/m::TestOk']!.status).toBe('passed');
  expect(byName['example.com/m::TestBad/sub']).toMatchObject({ status: 'failed', message: 'm_test.go:4: Add(1,2) = 3, want 4', localName: 'TestBad/sub', location: 'example.com/m' });
  expect(byName['example.com/m::TestBad']!.status).toBe('failed');
  expect(byName['example.com/m/b::(package)']).toMatchObject({ status: 'error' });
  expect(byName['example.com/m/b::(package)']!.trace).toContain('cannot use "s"');
  expect(countsOf(run)).toEqual({ passed: 1, failed: 3, total: 4 });
});

describe('closing lines of a custom command', () => {
  test('pytest -q', () => {
    const run = parseTextSummary(fixture('pytest-q.out'))!;
    expect(run.counts).toEqual({ passed: 1, failed: 1, total: 2 });
    expect(run.cases).toEqual([{ name: 'tests/test_calc.py::TestAdd::test_bad', status: 'failed', message: 'assert 3 == 4', runner: 'pytest' }]);
  });
  test('jest default reporter: counts, and the failing names parseJestJson would give', () => {
    const run = parseTextSummary(fixture('jest.out'))!;
    expect(run.counts).toEqual({ passed: 1, failed: 1, total: 2 });
    expect(run.cases.map((c) => [c.name, c.status])).toEqual([
      ['__tests__/a.test.js::math fails', 'failed'],
      ['__tests__/b.test.js::(suite)', 'error'],
    ]);
    const json = parseJestJson(fixture('jest.json'), '/project').cases.filter((c) => c.status !== 'passed' && c.status !== 'skipped');
    expect(run.cases.map((c) => c.name)).toEqual(json.map((c) => c.name));
  });

  test('jest through npm test (colours, console output, nested describes)', () => {
    const run = parseTextSummary(fixture('jest-npm.out'))!;
    expect(run.counts).toEqual({ passed: 2, failed: 3, total: 5 });
    expect(run.cases.map((c) => c.name)).toEqual([
      '__tests__/a.test.js::math fails',
      '__tests__/a.test.js::math nested deep also fails',
      '__tests__/a.test.js::top level fails',
      '__tests__/b.test.js::(suite)',
    ]);
    const fails = run.cases[0]!;
    expect(fails).toMatchObject({ status: 'failed', location: '__tests__/a.test.js', localName: 'math fails', runner: 'jest' });
    // The message stops at the code frame; the trace keeps the frame and the stack, dedented.
    expect(fails.message).toBe('expect(received).toBe(expected) // Object.is equality\nExpected: 3\nReceived: 2');
    expect(fails.trace).toMatch(/^expect\(received\)/);
    expect(fails.trace).toContain('at Object.toBe (__tests__/a.test.js:3:59)');
    expect(fails.trace).not.toContain('\u001b[');
    expect(run.cases[1]!.message).toBe('boom\nsecond line');
    expect(run.cases[3]).toMatchObject({ status: 'error', message: "Cannot find module './nope' from '__tests__/b.test.js'" });
    expect(run.cases.map((c) => c.name)).not.toContain('__tests__/a.test.js::Console');
    // jest prints a file at the root as ./file; its JSON report does not.
    expect(parseTextSummary('FAIL ./m.test.js\n  ● one › is two\n\n    boom\n')!.cases[0]).toMatchObject({ name: 'm.test.js::one is two', location: 'm.test.js' });
  });

  test('go test without -json: failing tests by package, a package that does not build', () => {
    for (const name of ['go-test.out', 'go-test-v.out']) {
      const run = parseTextSummary(fixture(name))!;
      // go prints no counts: the cases are the counts.
      expect(run.counts).toBeUndefined();
      const byName = Object.fromEntries(run.cases.map((c) => [c.name, c]));
      expect(byName['example.com/m::TestBad/sub']).toMatchObject({ status: 'failed', message: 'm_test.go:13: Add(1,2) = 3, want 4', localName: 'TestBad/sub', location: 'example.com/m', runner: 'go' });
      expect(byName['example.com/m::TestAlsoBad']).toMatchObject({ status: 'failed', message: 'm_test.go:18: some context', trace: 'm_test.go:18: some context\nm_test.go:19: want 5' });
      expect(byName['example.com/m::TestBad']!.status).toBe('failed');
      expect(byName['example.com/m/b::(package)']).toMatchObject({ status: 'error', message: expect.stringContaining('cannot use "s"') as string });
    }
    // -v also names the passing tests, so the counts are whole.
    expect(countsOf(parseTextSummary(fixture('go-test-v.out'))!)).toEqual({ passed: 2, failed: 4, total: 6 });
    expect(countsOf(parseTextSummary(fixture('go-test.out'))!)).toEqual({ passed: 0, failed: 4, total: 4 });
  });

  test('go names without their package line (output cut) keep the bare test name', () => {
    const run = parseTextSummary('--- FAIL: TestX (0.00s)\n    x_test.go:3: no\n')!;
    expect(run.cases).toEqual([{ name: 'TestX', status: 'failed', localName: 'TestX', runner: 'go', message: 'x_test.go:3: no', trace: 'x_test.go:3: no' }]);
  });
  test('the plain "N passed, N failed" line, and nothing to read', () => {
    expect(parseTextSummary('building\nresult: 7 passed, 2 failed\n')!.counts).toEqual({ passed: 7, failed: 2, total: 9 });
    expect(parseTextSummary('segmentation fault\n')).toBeUndefined();
  });
});
