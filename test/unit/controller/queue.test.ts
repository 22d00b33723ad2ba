import { jest } from '@jest/globals';
import { WorkQueue } from '../../../operator/src/controller/queue.js';

describe('WorkQueue', () => {
  afterEach(() => jest.useRealTimers());

  it('queues a key once however many times it is added', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 100; i++) q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('keeps first-in first-out order', async () => {
    const q = new WorkQueue();
    ['c', 'a', 'b'].forEach((k) => q.add(k));
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'a', 'b']);
  });

  it('never hands a key to two workers at once; an add while processing is replayed after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
    expect(q.inFlight()).toBe(1);
    q.done('a');
    expect(q.inFlight()).toBe(0);
    expect(q.len()).toBe(0);
  });

  it('hands a key straight to a waiting worker', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    await expect(p).resolves.toBe('x');
    expect(q.inFlight()).toBe(1);
  });

  it('does not requeue a key that was not added during processing', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('many concurrent workers never see the same key at the same time', async () => {
    const q = new WorkQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let handled = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlaps++;
        active.add(k);
        await new Promise((r) => setImmediate(r));
        if (Math.random() < 0.5) q.add(k);
        active.delete(k);
        handled++;
        q.done(k);
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    for (let i = 0; i < 500; i++) q.add(`k${i % 7}`);
    while (q.len() > 0 || q.inFlight() > 0) await new Promise((r) => setImmediate(r));
    q.shutDown();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
    expect(handled).toBeGreaterThanOrEqual(7);
  });

  it('backs off exponentially per key and forget resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000 });
    expect(q.addRateLimited('a')).toBe(10);
    expect(q.addRateLimited('a')).toBe(20);
    expect(q.addRateLimited('a')).toBe(40);
    expect(q.addRateLimited('b')).toBe(10);
    for (let i = 0; i < 20; i++) q.addRateLimited('a');
    expect(q.addRateLimited('a')).toBe(1000);
    expect(q.failuresOf('a')).toBe(24);
    q.forget('a');
    expect(q.failuresOf('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(10);
    q.shutDown();
  });

  it('limits the overall retry rate with a token bucket', () => {
    let t = 0;
    const q = new WorkQueue({ baseDelayMs: 1, retryQPS: 10, retryBurst: 2, now: () => t });
    expect(q.addRateLimited('a')).toBe(1);
    expect(q.addRateLimited('b')).toBe(1);
    expect(q.addRateLimited('c')).toBe(100);
    expect(q.addRateLimited('d')).toBe(200);
    t = 10_000;
    expect(q.addRateLimited('e')).toBe(1);
    q.shutDown();
  });

  it('adds after a delay, and the earliest deadline of a key wins', () => {
    jest.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    q.addAfter('b', 3000);
    q.addAfter('b', 500);
    jest.advanceTimersByTime(499);
    expect(q.len()).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.len()).toBe(1);
    jest.advanceTimersByTime(500);
    expect(q.len()).toBe(2);
    jest.advanceTimersByTime(10_000);
    expect(q.len()).toBe(2);
  });

  it('a delayed add of a key already queued does not queue it twice', () => {
    jest.useFakeTimers();
    const q = new WorkQueue();
    q.add('a');
    q.addAfter('a', 10);
    jest.advanceTimersByTime(10);
    expect(q.len()).toBe(1);
  });

  it('shutDown releases waiting workers and ignores later adds', async () => {
    jest.useFakeTimers();
    const q = new WorkQueue();
    const p = q.get();
    q.addAfter('late', 100);
    q.shutDown();
    await expect(p).resolves.toBeUndefined();
    q.add('a');
    jest.advanceTimersByTime(1000);
    expect(q.len()).toBe(0);
    await expect(q.get()).resolves.toBeUndefined();
  });

  it('an in-flight key can still be marked done after shutDown', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.shutDown();
    expect(q.inFlight()).toBe(1);
    q.done('a');
    expect(q.inFlight()).toBe(0);
  });
});
