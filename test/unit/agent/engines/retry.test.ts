import { callModel, isTransient, ModelCallError, modelCallFailure, retryAfterMs, retryDelayMs, type CallFailure } from '../../../../operator/src/agent/engines/retry.js';

/** A clock that only moves when the policy sleeps, so waits are asserted exactly and take no time. */
function clock() {
  let t = 1_000_000;
  const waits: number[] = [];
  return { waits, now: () => t, sleep: async (ms: number) => void (waits.push(ms), (t += ms)) };
}

const failing = (failures: CallFailure[], then = 'ok') => {
  let n = 0;
  return {
    calls: () => n,
    attempt: async () => {
      const f = failures[n++];
      if (f) throw f;
      return then;
    },
  };
};

test.each([408, 409, 429, 500, 502, 503, 504, 529, undefined])('status %s is transient', (status) => {
  expect(isTransient({ status })).toBe(true);
});
test.each([400, 401, 403, 404, 413, 422])('status %d is not', (status) => {
  expect(isTransient({ status })).toBe(false);
});

test('retry-after-ms, retry-after seconds and an HTTP date are all honoured', () => {
  expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
  expect(retryAfterMs({ 'retry-after': '3' })).toBe(3000);
  expect(retryAfterMs({ 'retry-after': new Date(10_000).toUTCString() }, 4_000)).toBe(6000);
  expect(retryAfterMs({})).toBeUndefined();
  expect(retryDelayMs(2, 1234)).toBe(1234);
  // Without the server's word: 1 s doubling, capped at 30 s, within ±25%.
  expect(retryDelayMs(0, undefined, () => 0.5)).toBe(1000);
  expect(retryDelayMs(3, undefined, () => 0.5)).toBe(8000);
  expect(retryDelayMs(20, undefined, () => 1)).toBe(37_500);
});

test('an outage shorter than the window is ridden out, waiting what the server says', async () => {
  const c = clock();
  const f = failing([{ status: 529, retryAfterMs: 5000, detail: 'overloaded' }, { status: 429, retryAfterMs: 7000, detail: 'slow down' }, { detail: 'ECONNRESET' }]);
  await expect(callModel(f.attempt, (e) => e as CallFailure, { windowSeconds: 600, ...c, random: () => 0.5 })).resolves.toBe('ok');
  expect(f.calls()).toBe(4);
  expect(c.waits).toEqual([5000, 7000, 4000]);
});

test('the window bounds the outage: the last wait is cut to its end, then ModelUnavailable', async () => {
  const c = clock();
  const f = failing(Array.from({ length: 100 }, () => ({ status: 529, retryAfterMs: 25_000, detail: 'overloaded' })));
  const err = await callModel(f.attempt, (e) => e as CallFailure, { windowSeconds: 60, ...c }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ModelCallError);
  expect(c.waits).toEqual([25_000, 25_000, 10_000]);
  expect(f.calls()).toBe(4);
  expect(modelCallFailure(err as ModelCallError)).toMatchObject({ reason: 'ModelUnavailable' });
  expect(modelCallFailure(err as ModelCallError).summary).toMatch(/60s, 4 attempts, last: HTTP 529 Overloaded/);
});

test.each([
  [400, 'BadRequest'],
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [404, 'NotFound'],
])('%d fails at once: one attempt, reason %s', async (status, reason) => {
  const c = clock();
  const f = failing([{ status, detail: 'no' }]);
  const err = (await callModel(f.attempt, (e) => e as CallFailure, c).catch((e: unknown) => e)) as ModelCallError;
  expect(f.calls()).toBe(1);
  expect(c.waits).toEqual([]);
  expect(modelCallFailure(err).reason).toBe(reason);
});
