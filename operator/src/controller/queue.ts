// The controller work queue, after client-go's workqueue: a key is queued at most once however many
// events arrive (dirty set), is never handed to two workers at once (processing set: an add while it
// is processed is parked until done()), failures back off exponentially per key, and delayed adds
// carry the loop core's RequeueAt. Keys, not objects, are queued so a worker always reads the newest
// cached state.
import { Deadlines } from './deadlines.js';

export interface QueueOptions {
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Overall retry rate (token bucket) so a failing apiserver is not hammered by many keys at once. */
  retryQPS?: number;
  retryBurst?: number;
  now?: () => number;
  /** Called as a key is handed out, with how long it waited since it was first added. */
  observeWait?: (ms: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  /** When each dirty key was first added, for the wait metric. */
  private readonly addedAt = new Map<string, number>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Delayed adds: the earliest deadline wins, so a later RequeueAt never postpones an earlier one. */
  private readonly delayed: Deadlines;
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly retryQPS: number;
  private readonly retryBurst: number;
  private readonly now: () => number;
  private tokens: number;
  private tokensAt: number;

  constructor(private readonly o: QueueOptions = {}) {
    const opts = o;
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.retryQPS = opts.retryQPS ?? 10;
    this.retryBurst = opts.retryBurst ?? 100;
    this.now = opts.now ?? Date.now;
    this.tokens = this.retryBurst;
    this.tokensAt = this.now();
    this.delayed = new Deadlines((key) => this.add(key), this.now);
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.handedOut(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds key after delayMs; an earlier pending deadline for the same key is kept. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    this.delayed.set(key, this.now() + delayMs);
  }

  /** Re-adds a key that failed, after its per-key exponential backoff (and the global retry rate). */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const perKey = Math.min(this.baseDelayMs * 2 ** (n - 1), this.maxDelayMs);
    const delay = Math.max(perKey, this.bucketDelay());
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure count of a key after it was reconciled successfully. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resolves with the next key, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.head < this.queue.length) {
      const key = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.processing.add(key);
      this.handedOut(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private handedOut(key: string): void {
    const at = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (at !== undefined) this.o.observeWait?.(this.now() - at);
  }

  /** Marks a key processed; if it was added meanwhile it goes back in line now. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Keys waiting to be processed (not counting delayed ones or those in flight). */
  len(): number {
    return this.queue.length - this.head;
  }

  inFlight(): number {
    return this.processing.size;
  }

  /** Stops handing out work: waiting workers get undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.addedAt.clear();
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private bucketDelay(): number {
    const now = this.now();
    this.tokens = Math.min(this.retryBurst, this.tokens + ((now - this.tokensAt) / 1000) * this.retryQPS);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.retryQPS) * 1000);
  }
}
