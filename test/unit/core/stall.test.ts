import { isStalled, madeProgress, stallWindow, type Round } from '../../../operator/src/core/stall.js';

const r = (passed: number, failing: string[], level: 0 | 1 = 0, gaveUp = false): Round => ({ iteration: 0, level, passed, failing, gaveUp });

describe('madeProgress', () => {
  test.each([
    ['more pass, different failures', r(7, ['a', 'b', 'c']), r(8, ['a', 'b']), true],
    ['same failing set', r(7, ['a', 'b', 'c']), r(7, ['c', 'b', 'a']), false],
    ['same set even with more passing (new tests)', r(7, ['a']), r(9, ['a']), false],
    ['different failures but no gain', r(7, ['a', 'b', 'c']), r(7, ['d', 'e', 'f']), false],
    ['fewer pass', r(7, ['a']), r(6, ['b', 'c']), false],
    ['reached acceptance', r(9, ['a']), r(3, ['h1', 'h2'], 1), true],
    ['fell back from acceptance', r(3, ['h1'], 1), r(9, ['a']), false],
    ['repair gave up', r(7, ['a']), r(7, ['a'], 0, true), false],
  ])('%s', (_name, prev, cur, expected) => expect(madeProgress(prev, cur)).toBe(expected));
});

describe('isStalled', () => {
  test('after a fresh start: two rounds in a row without progress', () => {
    expect(isStalled([r(5, ['a', 'b'])], 2)).toBe(false);
    expect(isStalled([r(5, ['a', 'b']), r(5, ['a', 'b'])], 2)).toBe(false);
    expect(isStalled([r(5, ['a', 'b']), r(5, ['a', 'b']), r(5, ['a', 'b'])], 2)).toBe(true);
    expect(isStalled([r(5, ['a', 'b']), r(5, ['a', 'b']), r(6, ['b'])], 2)).toBe(false);
    expect(isStalled([r(5, ['a', 'b']), r(6, ['b']), r(6, ['b']), r(6, ['c'])], 2)).toBe(true);
  });

  test('before it: the first round without progress', () => {
    expect(isStalled([r(5, ['a', 'b'])], 1)).toBe(false);
    expect(isStalled([r(5, ['a', 'b']), r(5, ['a', 'b'])], 1)).toBe(true);
    expect(isStalled([r(5, ['a', 'b']), r(6, ['b'])], 1)).toBe(false);
    expect(isStalled([r(5, ['a', 'b']), r(6, ['b']), r(6, ['b'])], 1)).toBe(true);
    expect(isStalled([r(5, ['a', 'b']), r(5, ['a', 'b'], 0, true)], 1)).toBe(true);
  });

  test('the window: one round before the fresh start, two after; two before it where the repair defended the code', () => {
    expect(stallWindow(0)).toBe(1);
    expect(stallWindow(0, r(5, ['a']))).toBe(1);
    expect(stallWindow(0, { ...r(5, ['a']), defended: true })).toBe(2);
    expect(stallWindow(1)).toBe(2);
    expect(stallWindow(1, { ...r(5, ['a']), defended: true })).toBe(2);
  });
});
