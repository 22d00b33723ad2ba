// The test role's work is a test: a file that defines none (a placeholder, fixtures alone) is not done.
import { copiedImplementation, missingTests, testFileStart, testsUnfinished, unstatedErrors } from '../../../../operator/src/agent/roles/test-definitions.js';
import { workspaceWith as workspace } from '../helpers.js';

test('a python test file with a placeholder, or only a conftest, defines no test', () => {
  expect(missingTests(workspace({ 'README.md': '# x\n' }), 'python')).toBe('no test file is written: a test is a function named test_... (def test_something():) with an assert.');
  expect(missingTests(workspace({ 'tests/test_solution.py': '<|insert_test_code|>' }), 'python')).toMatch(/^tests\/test_solution\.py defines no test: /);
  expect(missingTests(workspace({ 'tests/conftest.py': 'import pytest\n' }), 'python')).toMatch(/defines no test/);
});

test('a test definition in any test file of the language is enough', () => {
  expect(missingTests(workspace({ 'tests/test_a.py': 'from a import f\n\ndef test_f():\n    assert f() == 1\n' }), 'python')).toBeUndefined();
  expect(missingTests(workspace({ 'tests/test_a.py': 'class TestF:\n    def test_one(self): ...\n' }), 'python')).toBeUndefined();
  expect(missingTests(workspace({ '__tests__/a.test.js': "const f = require('../a');\ntest('f', () => expect(f()).toBe(1));\n" }), 'javascript')).toBeUndefined();
  expect(missingTests(workspace({ 'a_test.go': 'package a\n\nfunc TestF(t *testing.T) {}\n' }), 'go')).toBeUndefined();
  expect(missingTests(workspace({ 'a_test.go': 'package a\n' }), 'go')).toMatch(/a_test\.go defines no test/);
});

test('dependency trees are not searched, and a language the loop does not know is left to its test command', () => {
  expect(missingTests(workspace({ 'node_modules/x/x.test.js': "test('x', () => {});\n" }), 'javascript')).toMatch(/no test file is written/);
  expect(missingTests(workspace({}), 'other')).toBeUndefined();
});

const FIZZ = 'Implement fizzbuzz(n) in fizzbuzz.py. Tests use pytest and import it with `from fizzbuzz import fizzbuzz`.';

test('a test file that defines the function the goal asks for tests its copy, not the implementation', () => {
  const copy = workspace({ 'tests/test_fizzbuzz.py': 'import pytest\n\ndef fizzbuzz(n):\n    return str(n)\n\ndef test_seven():\n    assert fizzbuzz(7) == "7"\n' });
  expect(copiedImplementation(copy, FIZZ, 'python')).toMatch(/^tests\/test_fizzbuzz\.py defines fizzbuzz itself, .*import fizzbuzz from where the goal says it lives\.$/);
  expect(testsUnfinished(copy, FIZZ, 'python')).toMatch(/defines fizzbuzz itself/);
  // Helpers of its own and the imported function are fine.
  const good = workspace({ 'tests/test_fizzbuzz.py': 'from fizzbuzz import fizzbuzz\n\ndef expected(n):\n    return str(n)\n\ndef test_seven():\n    assert fizzbuzz(7) == expected(7)\n' });
  expect(testsUnfinished(good, FIZZ, 'python')).toBeUndefined();
  expect(copiedImplementation(workspace({ 'x.test.js': "function slugify(s) { return s; }\ntest('a', () => {});\n" }), 'slugify(text) in slugify.js', 'javascript')).toMatch(/defines slugify itself/);
});

test('a test file the role writes begins with the imports the goal states, and nothing is assumed where it states none', () => {
  expect(testFileStart(FIZZ, 'python')).toBe('```python\nimport pytest\nfrom fizzbuzz import fizzbuzz\n');
  expect(testFileStart('Write slugify(text) in slugify.js; tests load it with `const slugify = require("./slugify");`.', 'javascript')).toBe('```javascript\nconst slugify = require("./slugify");\n');
  expect(testFileStart('Implement fizzbuzz(n) in fizzbuzz.py.', 'python')).toBeUndefined();
  expect(testFileStart(FIZZ, 'go')).toBeUndefined();
});

test('a test that expects an error the goal never mentions is named; a goal that speaks of errors allows any', () => {
  const flip = "solution.py provides `flip_case` below.\n\n```python\ndef flip_case(string: str) -> str:\n    ''' Flip lowercase characters to uppercase and uppercase to lowercase.\n    >>> flip_case('Hello')\n    'hELLO'\n    '''\n```";
  // HumanEval/27's tests as the 1.5B model wrote them, twice.
  const raises = workspace({ 'tests/test_solution.py': "import pytest\nfrom solution import flip_case\n\ndef test_flip_case():\n    assert flip_case('Hello') == 'hELLO'\n    with pytest.raises(ValueError):\n        flip_case(123)\n" });
  expect(unstatedErrors(raises, flip, 'python')).toBe('tests/test_solution.py expects ValueError, but the goal never says that anything raises or throws: a test checks only what the goal states, with the values it gives. Remove the checks that expect an error.');
  // Not a missing test: the stage is not failed for it, finished is only refused.
  expect(testsUnfinished(raises, flip, 'python')).toBeUndefined();
  expect(unstatedErrors(workspace({ 'tests/test_x.py': 'import unittest\nclass TestX(unittest.TestCase):\n    def test_x(self):\n        with self.assertRaises((TypeError, ValueError)):\n            f(1)\n' }), 'f(x) doubles x.', 'python')).toMatch(/^tests\/test_x\.py expects TypeError, /);
  expect(unstatedErrors(workspace({ 'a.test.js': "test('a', () => expect(() => f(1)).toThrow());\n" }), 'f(x) doubles x.', 'javascript')).toMatch(/^a\.test\.js expects an error, /);
  expect(unstatedErrors(workspace({ 'a.test.ts': "test('a', () => expect(() => f(1)).toThrow(RangeError));\n" }), 'f(x) doubles x.', 'typescript')).toMatch(/expects RangeError, /);
  // The goal says something raises: the check is the model's to make.
  expect(unstatedErrors(raises, `${flip}\nFor a non-string it raises TypeError.`, 'python')).toBeUndefined();
  expect(unstatedErrors(raises, FIZZ.replace('Tests use', 'For n < 1 it raises ValueError. Tests use'), 'python')).toBeUndefined();
  expect(unstatedErrors(workspace({ 'tests/test_ok.py': "from solution import flip_case\n\ndef test_a():\n    assert flip_case('a') == 'A'\n" }), flip, 'python')).toBeUndefined();
  expect(unstatedErrors(raises, flip, 'go')).toBeUndefined();
});
