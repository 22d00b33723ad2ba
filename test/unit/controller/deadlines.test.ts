import { jest } from '@jest/globals';
import { Deadlines } from '../../../operator/src/controller/deadlines.js';

describe('Deadlines', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires many keys set in any order at their times, in time order, behind one timer', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    const t0 = Date.now();
    // A fixed shuffle of 1..500 (247 is prime to 500, so i → 247·i mod 500 is a permutation).
    const order = Array.from({ length: 500 }, (_, i) => ((i * 247) % 500) + 1);
    for (const n of order) d.set(`k${n}`, t0 + n * 10);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(10 * 250);
    expect(fired).toEqual(Array.from({ length: 250 }, (_, i) => `k${i + 1}`));
    jest.advanceTimersByTime(10 * 250);
    expect(fired).toHaveLength(500);
    expect(fired.at(-1)).toBe('k500');
    expect(d.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keeps the earliest time of a key: a later one is ignored, an earlier one supersedes', () => {
    const fired: [string, number][] = [];
    const d = new Deadlines((k) => fired.push([k, Date.now()]));
    const t0 = Date.now();
    d.set('a', t0 + 100);
    d.set('a', t0 + 500);
    d.set('b', t0 + 300);
    d.set('b', t0 + 50);
    jest.advanceTimersByTime(1000);
    expect(fired).toEqual([['b', t0 + 50], ['a', t0 + 100]]);
  });

  it('a key fired can be set again, and its superseded entry does not fire it twice', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    const t0 = Date.now();
    d.set('a', t0 + 200);
    d.set('a', t0 + 100);
    jest.advanceTimersByTime(100);
    expect(fired).toEqual(['a']);
    d.set('a', t0 + 400);
    jest.advanceTimersByTime(200);
    expect(fired).toEqual(['a']);
    jest.advanceTimersByTime(100);
    expect(fired).toEqual(['a', 'a']);
  });

  it('waits past setTimeout’s 24.8-day limit instead of firing at once', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    const days = 40 * 24 * 3600_000;
    d.set('long', Date.now() + days);
    jest.advanceTimersByTime(2 ** 31);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(days - 2 ** 31);
    expect(fired).toEqual(['long']);
  });

  it('a time already past fires on the next turn; clear() drops everything', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    d.set('past', Date.now() - 1000);
    jest.advanceTimersByTime(0);
    expect(fired).toEqual(['past']);
    d.set('x', Date.now() + 10);
    d.clear();
    jest.advanceTimersByTime(100);
    expect(fired).toEqual(['past']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stays small when one key is moved earlier over and over', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    const t0 = Date.now();
    for (let i = 100_000; i > 0; i--) d.set('a', t0 + 1000 + i);
    expect((d as unknown as { heap: unknown[] }).heap.length).toBeLessThan(2000);
    jest.advanceTimersByTime(2000 + 100_000);
    expect(fired).toEqual(['a']);
  });
});
