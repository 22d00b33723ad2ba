import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeUnsupportedChecks, withoutChecks } from '../../../../operator/src/agent/roles/unsupported-checks.js';
import { computedLines } from '../../../../operator/src/agent/roles/test-definitions.js';
import { workspaceWith as workspace } from '../helpers.js';

// HumanEval/136's goal (its docstring), shortened, and the local model's checks.
const GOAL136 = `def largest_smallest_integers(lst):
    '''
    Create a function that returns a tuple (a, b), where 'a' is
    the largest of negative integers, and 'b' is the smallest
    of positive integers in a list.
    If there is no negative or positive integers, return them as None.

    Examples:
    largest_smallest_integers([2, 4, 1, 3, 5, 7]) == (None, 1)
    largest_smallest_integers([]) == (None, None)
    largest_smallest_integers([0]) == (None, None)
    '''`;
const COPIED = '    assert largest_smallest_integers([2, 4, 1, 3, 5, 7]) == (None, 1)\n    assert largest_smallest_integers([]) == (None,None)\n';
const INVENTED = '    assert largest_smallest_integers([-1, -2, -3, -4, -5]) == (-1, 1)\n' + '    assert largest_smallest_integers([1, 2, -1, -2]) == (-1, 5)\n'.repeat(3);

describe('computedLines', () => {
  test('expected tuples the goal does not give, beside ones it gives', () => {
    expect(computedLines(`from solution import f\n\ndef test_l():\n${COPIED}\n${INVENTED}`, GOAL136)).toEqual([6, 7, 8, 9]);
  });

  test('only copied examples, or only computed values (the goal gives none of that kind), or scalars: none', () => {
    expect(computedLines(`def test_l():\n${COPIED}`, GOAL136)).toEqual([]);
    expect(computedLines(`def test_l():\n${INVENTED}`, GOAL136)).toEqual([]);
    expect(computedLines('def test_f():\n    assert fizzbuzz(3) == "Fizz"\n', 'fizzbuzz(7) == "7"')).toEqual([]);
  });
});

describe('withoutChecks', () => {
  test('a pytest.raises block goes whole, and a test left empty goes with its decorator', () => {
    const text = [
      'import pytest',
      'from solution import gcd',
      '',
      'def test_gcd():',
      '    assert gcd(3, 5) == 1',
      '    with pytest.raises(ZeroDivisionError):',
      '        gcd(0, 5)',
      '',
      '    assert gcd(25, 15) == 5',
      '',
      '',
      '@pytest.mark.slow',
      'def test_zero():',
      '    with pytest.raises(ValueError):',
      '        gcd(0, 0)',
      '',
    ].join('\n');
    expect(withoutChecks(text, (l) => /pytest\.raises/.test(l))).toBe(['import pytest', 'from solution import gcd', '', 'def test_gcd():', '    assert gcd(3, 5) == 1', '', '    assert gcd(25, 15) == 5', ''].join('\n'));
  });
});

describe('removeUnsupportedChecks', () => {
  test('HumanEval/13: gcd names no error, so its pytest.raises checks go; the file keeps its other checks', () => {
    const ws = workspace({ 'tests/test_solution.py': 'import pytest\nfrom solution import greatest_common_divisor\n\ndef test_gcd():\n    assert greatest_common_divisor(3, 5) == 1\n    with pytest.raises(ZeroDivisionError):\n        greatest_common_divisor(0, 5)\n' });
    expect(removeUnsupportedChecks(ws, 'Return a greatest common divisor of two integers a and b\n>>> greatest_common_divisor(3, 5)\n1', 'python')).toEqual(['tests/test_solution.py: with pytest.raises(ZeroDivisionError):']);
    expect(readFileSync(join(ws, 'tests/test_solution.py'), 'utf8')).toBe('import pytest\nfrom solution import greatest_common_divisor\n\ndef test_gcd():\n    assert greatest_common_divisor(3, 5) == 1\n');
  });

  test('HumanEval/136: the computed tuples go, the goal\'s examples stay', () => {
    const ws = workspace({ 'tests/test_solution.py': `from solution import largest_smallest_integers\n\ndef test_l():\n${COPIED}${INVENTED}` });
    expect(removeUnsupportedChecks(ws, GOAL136, 'python')).toHaveLength(4);
    expect(readFileSync(join(ws, 'tests/test_solution.py'), 'utf8')).toBe(`from solution import largest_smallest_integers\n\ndef test_l():\n${COPIED}`);
  });

  test('a goal that states errors keeps them; a file that would be left without a test is left as it was; other languages untouched', () => {
    const raises = 'import pytest\nfrom fizzbuzz import fizzbuzz\n\ndef test_zero():\n    with pytest.raises(ValueError):\n        fizzbuzz(0)\n';
    const ws = workspace({ 'tests/test_fizzbuzz.py': raises });
    expect(removeUnsupportedChecks(ws, 'For n < 1 it raises ValueError.', 'python')).toEqual([]);
    expect(removeUnsupportedChecks(ws, 'fizzbuzz(n) returns a string.', 'python')).toEqual([]);
    expect(readFileSync(join(ws, 'tests/test_fizzbuzz.py'), 'utf8')).toBe(raises);
    const js = workspace({ 'a.test.js': "test('a', () => expect(() => f(1)).toThrow());\n" });
    expect(removeUnsupportedChecks(js, 'f(x) doubles x.', 'javascript')).toEqual([]);
  });
});
