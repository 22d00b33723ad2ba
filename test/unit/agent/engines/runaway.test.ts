import { lineShape, RunawayWatch, SAME_SHAPE_LIMIT } from '../../../../operator/src/agent/engines/runaway.js';

/** Feeds text to a watch in chunks of n characters, as generation does; returns the watch. */
function feed(text: string, n = 7): RunawayWatch {
  const w = new RunawayWatch();
  for (let i = 0; i < text.length; i += n) if (w.push(text.slice(i, i + n))) break;
  return w;
}

const head = 'import pytest\nfrom solution import move_one_ball\n\ndef test_move_one_ball():\n';

describe('lineShape', () => {
  test('numbers and lists of numbers of any length have one shape', () => {
    expect(lineShape('    assert move_one_ball([1, 2, 3]) == True')).toBe(lineShape('assert move_one_ball([9, 8, 7, 6, 5, 4, 3, 2, 1]) == True'));
    expect(lineShape('assert f(-1.5) == 2')).toBe(lineShape('assert f(3) == 40'));
  });

  test('another expected value or function is another shape; short lines have none', () => {
    expect(lineShape('assert move_one_ball([1, 2]) == True')).not.toBe(lineShape('assert move_one_ball([1, 2]) == False'));
    expect(lineShape('assert fizzbuzz(3) == "Fizz"')).not.toBe(lineShape('assert fizzbuzz(5) == "Buzz"'));
    expect(lineShape('    else:')).toBeUndefined();
    expect(lineShape(')')).toBeUndefined();
  });
});

describe('RunawayWatch', () => {
  test('HumanEval/109: ever longer lists, all True, end after the limit, before the next such line', () => {
    const lines = Array.from({ length: 40 }, (_, k) => `    assert move_one_ball([${Array.from({ length: k + 2 }, (_, i) => i + 1).join(', ')}]) == True\n`);
    const w = feed(head + '    assert move_one_ball([3, 5, 4, 1, 2]) == False\n' + lines.join(''));
    expect(w.cutAt).toBeDefined();
    expect(w.kept()).toBe(head + '    assert move_one_ball([3, 5, 4, 1, 2]) == False\n' + lines.slice(0, SAME_SHAPE_LIMIT).join(''));
  });

  test('HumanEval/136: the same line again and again', () => {
    const line = '    assert largest_smallest_integers([1, 2, 3, 4, 5, -1, -2, -3, -4, -5]) == (-1, 5)\n';
    const w = feed(head + line.repeat(30), 1);
    expect(w.kept()).toBe(head + line.repeat(SAME_SHAPE_LIMIT));
  });

  test('a file of varied tests is never cut', () => {
    const fizz = [3, 5, 15, 7, 1, 9, 10, 30, 2, 6, 20, 45, 4]
      .map((n) => `def test_${n}():\n    assert fizzbuzz(${n}) == ${n % 15 === 0 ? '"FizzBuzz"' : n % 3 === 0 ? '"Fizz"' : n % 5 === 0 ? '"Buzz"' : `"${n}"`}\n\n`)
      .join('');
    const w = feed('import pytest\nfrom fizzbuzz import fizzbuzz\n\n' + fizz + 'def test_zero():\n    with pytest.raises(ValueError):\n        fizzbuzz(0)\n');
    expect(w.cutAt).toBeUndefined();
    expect(w.kept()).toBeUndefined();
  });
});
