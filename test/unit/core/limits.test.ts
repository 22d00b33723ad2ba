import { deadlineOf, maxCostOf, maxIterationsOf, parseDuration } from '../../../operator/src/core/limits.js';
import { spec } from './driver.js';

describe('parseDuration (Go syntax, as the CRD validates it)', () => {
  test.each([
    ['2h', 7_200_000],
    ['90m', 5_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['45s', 45_000],
    ['250ms', 250],
    ['1h0m0.5s', 3_600_500],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', '2', 'h', '2d', '1h 30m', '-1h', '1h30'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('limits with defaults', () => {
  test('a spec without limits gets the CRD defaults', () => {
    const s = spec({ limits: undefined });
    expect(maxIterationsOf(s)).toBe(5);
    expect(maxCostOf(s)).toBe(5);
    expect(deadlineOf(s, '2030-01-01T00:00:00.000Z').toISOString()).toBe('2030-01-01T02:00:00.000Z');
  });

  test('decimal cost strings', () => {
    expect(maxCostOf(spec({ limits: { maxCostUSD: '2.50' } }))).toBe(2.5);
    expect(maxCostOf(spec({ limits: { maxCostUSD: '0' } }))).toBe(0);
  });
});
