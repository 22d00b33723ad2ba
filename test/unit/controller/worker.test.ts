// The worker's half of the Result contract (result.ts, worker.ts): it does the queueing reconcile asks for.
import { jest } from '@jest/globals';
import { WorkQueue } from '../../../operator/src/controller/queue.js';
import { StaleCacheError } from '../../../operator/src/controller/reconcile.js';
import { DONE, disposition, requeueAfter, sooner, TerminalError } from '../../../operator/src/controller/result.js';
import { settle } from '../../../operator/src/controller/worker.js';
import { createLogger } from '../../../operator/src/util/log.js';

const log = createLogger('test', 'error');
// The worker logs a dropped key at error; not this test's output.
log.silent = true;

afterEach(() => jest.useRealTimers());

test('disposition: done forgets, requeueAfter forgets and re-adds later, an error backs off, a TerminalError is dropped', () => {
  expect(disposition({ result: DONE })).toEqual({ kind: 'forget' });
  expect(disposition({ result: requeueAfter(250) })).toEqual({ kind: 'requeueAfter', ms: 250 });
  expect(disposition({ error: new StaleCacheError('stale') })).toEqual({ kind: 'backoff' });
  expect(disposition({ error: new TerminalError('bad') })).toEqual({ kind: 'drop' });
});

test('sooner keeps the earlier request; a negative delay is now', () => {
  expect(sooner(DONE, requeueAfter(5))).toEqual({ requeueAfterMs: 5 });
  expect(sooner(requeueAfter(3), requeueAfter(5))).toEqual({ requeueAfterMs: 3 });
  expect(requeueAfter(-10)).toEqual({ requeueAfterMs: 0 });
});

async function handOut(q: WorkQueue, key: string): Promise<void> {
  q.add(key);
  expect(await q.get()).toBe(key);
}

test('a requeueAfter Result brings the key back after that long, with its failure count cleared', async () => {
  jest.useFakeTimers();
  const q = new WorkQueue();
  await handOut(q, 'k');
  settle(q, 'k', { error: new Error('apiserver down') }, log, 1);
  expect(q.failuresOf('k')).toBe(1);
  jest.advanceTimersByTime(10);
  expect(await q.get()).toBe('k');
  settle(q, 'k', { result: requeueAfter(1000) }, log, 1);
  expect(q.failuresOf('k')).toBe(0);
  jest.advanceTimersByTime(999);
  expect(q.len()).toBe(0);
  jest.advanceTimersByTime(1);
  expect(q.len()).toBe(1);
});

test('errors back off exponentially per key; a TerminalError is not retried', async () => {
  jest.useFakeTimers();
  const q = new WorkQueue({ baseDelayMs: 100 });
  await handOut(q, 'k');
  settle(q, 'k', { error: new Error('x') }, log, 1);
  jest.advanceTimersByTime(100);
  expect(await q.get()).toBe('k');
  settle(q, 'k', { error: new Error('x') }, log, 1);
  jest.advanceTimersByTime(199);
  expect(q.len()).toBe(0);
  jest.advanceTimersByTime(1);
  expect(await q.get()).toBe('k');
  settle(q, 'k', { error: new TerminalError('cannot') }, log, 1);
  jest.advanceTimersByTime(120_000);
  expect(q.len()).toBe(0);
  expect(q.failuresOf('k')).toBe(0);
  expect(q.inFlight()).toBe(0);
});

test('a key added while it was reconciled goes back in line once settled, whatever the outcome', async () => {
  const q = new WorkQueue();
  await handOut(q, 'k');
  q.add('k');
  expect(q.len()).toBe(0);
  settle(q, 'k', { error: new TerminalError('cannot') }, log, 1);
  expect(q.len()).toBe(1);
});
