// Flags refused for a test the implementation crashed on, or for a check the code passed before the
// session's change, judged from pytest's traces (the ones below are HumanEval/95's from bench runs 7
// and 8, where the flags went through and the test revision then turned the goal's own example into
// a wrong expectation).
import { expect, test } from '@jest/globals';
import { flagRefusal } from '../../../../operator/src/agent/roles/flag-refusal.js';
import { crashInCode, failingCheck, sectionsOf } from '../../../../operator/src/agent/roles/pytest-trace.js';
import { flagTestTool } from '../../../../operator/src/agent/tools/command-tools.js';
import type { FailureReport } from '../../../../operator/src/agent/runner/report.js';

const crashed = "def test_check_dict_case():\n        assert check_dict_case({\"a\":\"apple\", \"b\":\"banana\"}) == True\n        assert check_dict_case({\"a\":\"apple\", \"A\":\"banana\", \"B\":\"banana\"}) == False\n>       assert check_dict_case({\"a\":\"apple\", 8:\"banana\", \"a\":\"apple\"}) == True\n               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\ntests/test_solution.py:8: \n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \nsolution.py:15: in check_dict_case\n    all_lower = all(key.islower() for key in dict)\n                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \n\n.0 = <dict_keyiterator object at 0x7f0>\n\n>   all_lower = all(key.islower() for key in dict)\n                    ^^^^^^^^^^^\nE   AttributeError: 'int' object has no attribute 'islower'\n\nsolution.py:15: AttributeError";

const mismatch = 'def test_pluck():\n>       assert pluck([4, 2, 3]) == [2, 1]\nE       assert [] == [2, 1]\n\ntests/test_solution.py:5: AssertionError';
const raisedInTest = 'def test_parse():\n>       raise ValueError("fixture broke")\nE       ValueError: fixture broke\n\ntests/test_solution.py:9: ValueError';
const notRaised = 'def test_parse():\n        with pytest.raises(ValueError):\n>           parse("x")\nE           Failed: DID NOT RAISE <class \'ValueError\'>\n\ntests/test_solution.py:7: Failed';

const report = (failures: [string, string][]): FailureReport => ({
  role: 'run', command: 'python -m pytest', exitCode: 1, timedOut: false, durationMs: 1, flaky: [], outputTail: '',
  tests: { passed: 0, failed: failures.length, total: failures.length },
  failures: failures.map(([name, trace]) => ({ name, message: '', trace })),
});

test('an exception raised in the implementation: where, what, and the line', () => {
  expect(crashInCode(crashed)).toEqual({ exception: 'AttributeError', where: 'solution.py:15', line: 'all_lower = all(key.islower() for key in dict)' });
});

test('an assertion that failed, an error raised in the test itself, or one that was not raised: not a crash in the code', () => {
  expect(crashInCode(mismatch)).toBeUndefined();
  expect(crashInCode(raisedInTest)).toBeUndefined();
  expect(crashInCode(notRaised)).toBeUndefined();
  expect(crashInCode('')).toBeUndefined();
  expect(crashInCode('FAILED tests/test_a.py::test_a')).toBeUndefined();
});

test('the flag of a crashed test is refused with where the code raised, by its full or its short name; others are taken', async () => {
  const refuse = flagRefusal(report([['tests/test_solution.py::test_check_dict_case', crashed], ['tests/test_solution.py::test_pluck', mismatch]]));
  for (const name of ['tests/test_solution.py::test_check_dict_case', 'test_check_dict_case']) {
    expect(refuse(name)).toMatch(/^not flagged: tests\/test_solution.py::test_check_dict_case fails because the implementation raised AttributeError at solution.py:15 \(`all_lower = all\(key.islower\(\) for key in dict\)`\), before the test compared anything\..* Fix solution.py\.$/);
  }
  expect(refuse('test_pluck')).toBeUndefined();
  expect(refuse('test_unknown')).toBeUndefined();
  expect(flagRefusal(undefined)('test_check_dict_case')).toBeUndefined();

  const flagged = new Map<string, string>();
  const tool = flagTestTool(flagged, refuse);
  await expect(tool.run({ name: 'test_check_dict_case', reason: 'the implementation returns True' })).rejects.toThrow(/^not flagged: /);
  expect(await tool.run({ name: 'test_pluck', reason: 'the goal says [2, 1]' })).toBe('flagged test_pluck');
  expect([...flagged.keys()]).toEqual(['test_pluck']);
});

// pytest -q as the repair check runs it, after an edit like HumanEval/68's float('inf') -> float('None').
const quietRun = "FF                                                                       [100%]\n=================================== FAILURES ===================================\n__________________________________ test_pluck __________________________________\n\n    def test_pluck():\n>       assert pluck([4, 2, 3]) == [2, 1]\n               ^^^^^^^^^^^^^^^^\n\ntests/test_solution.py:4: \n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \n\narr = [4, 2, 3]\n\n    def pluck(arr):\n>       smallest = float(\"None\")\n                   ^^^^^^^^^^^^^\nE       ValueError: could not convert string to float: 'None'\n\nsolution.py:2: ValueError\n__________________________________ test_other __________________________________\n\n    def test_other():\n>       assert 1 == 2\nE       assert 1 == 2\n\ntests/test_solution.py:7: AssertionError\n=========================== short test summary info ============================\nFAILED tests/test_solution.py::test_pluck - ValueError: could not convert str...\nFAILED tests/test_solution.py::test_other - assert 1 == 2\n2 failed in 0.02s\n";

test("pytest's text output: the crash of each failing test by its section", () => {
  const crashes = [...sectionsOf(quietRun)].flatMap(([test, body]) => { const c = crashInCode(body); return c ? [[test, c]] : []; });
  expect(crashes).toEqual([['test_pluck', { exception: 'ValueError', where: 'solution.py:2', line: 'smallest = float("None")' }]]);
  expect([...sectionsOf(quietRun).keys()]).toEqual(['test_pluck', 'test_other']);
  expect(sectionsOf('3 passed in 0.01s').size).toBe(0);
});

test("the session's latest run judges a flag over the report it was handed: the crash its own edit caused", () => {
  let latest: string | undefined;
  const refuse = flagRefusal(report([['tests/test_solution.py::test_pluck', mismatch]]), () => latest);
  expect(refuse('test_pluck')).toBeUndefined();
  latest = quietRun;
  expect(refuse('test_pluck')).toMatch(/^not flagged: test_pluck fails because the implementation raised ValueError at solution.py:2 /);
  expect(refuse('tests/test_solution.py::test_pluck')).toMatch(/^not flagged: /);
  expect(refuse('test_other')).toBeUndefined();
  latest = '1 passed in 0.01s';
  expect(refuse('test_pluck')).toBeUndefined();
});

// HumanEval/95, run 8: handed the crash at line 8, repair broke line 7 (the goal's second example) and flagged the test.
const handedCrash = "def test_check_dict_case():\n        assert check_dict_case({\"a\":\"apple\", \"b\":\"banana\"}) == True\n        assert check_dict_case({\"a\":\"apple\", \"A\":\"banana\", \"B\":\"banana\"}) == False\n>       assert check_dict_case({\"a\":\"apple\", 8:\"banana\", \"a\":\"apple\"}) == False\n               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\ntests/test_solution.py:8: \n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \nsolution.py:15: in check_dict_case\n    all_lower = all(key.islower() for key in dict)\n                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ \n\n.0 = <dict_keyiterator object at 0x7f0>\n\n>   all_lower = all(key.islower() for key in dict)\n                    ^^^^^^^^^^^\nE   AttributeError: 'int' object has no attribute 'islower'\n\nsolution.py:15: AttributeError";
const afterEdit = "F                                                                        [100%]\n=================================== FAILURES ===================================\n_____________________________ test_check_dict_case _____________________________\n\n    def test_check_dict_case():\n        assert check_dict_case({\"a\":\"apple\", \"b\":\"banana\"}) == True\n>       assert check_dict_case({\"a\":\"apple\", \"A\":\"banana\", \"B\":\"banana\"}) == False\nE       AssertionError: assert True == False\nE        +  where True = check_dict_case({'a': 'apple', 'A': 'banana', 'B': 'banana'})\n\ntests/test_solution.py:7: AssertionError\n=========================== short test summary info ============================\nFAILED tests/test_solution.py::test_check_dict_case - AssertionError: assert ...\n1 failed in 0.02s";

test('a check above the one the stage was handed as failing passed before the change: its flag is refused', () => {
  expect(failingCheck(handedCrash)).toEqual({ path: 'tests/test_solution.py', line: 8, check: 'assert check_dict_case({"a":"apple", 8:"banana", "a":"apple"}) == False' });
  const refuse = flagRefusal(report([['tests/test_solution.py::test_check_dict_case', handedCrash]]), () => afterEdit);
  expect(refuse('test_check_dict_case')).toBe(
    'not flagged: the check where test_check_dict_case fails now, tests/test_solution.py:7 (`assert check_dict_case({"a":"apple", "A":"banana", "B":"banana"}) == False`), passed before your change (the test failed further down, at line 8). Your change broke it: the code did what that check expects before. Change the code so that it passes again.',
  );
  // The same line failing, or one further down: the change did not break what passed.
  expect(flagRefusal(report([['tests/test_solution.py::test_check_dict_case', handedCrash.replace('tests/test_solution.py:8', 'tests/test_solution.py:7')]]), () => afterEdit)('test_check_dict_case')).toBeUndefined();
  expect(flagRefusal(report([['tests/test_solution.py::test_check_dict_case', handedCrash.replace('tests/test_solution.py:8', 'tests/test_solution.py:5')]]), () => afterEdit)('test_check_dict_case')).toBeUndefined();
});
