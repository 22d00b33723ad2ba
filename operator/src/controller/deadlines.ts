// Delayed keys behind one timer, after client-go's delaying queue (a heap of ready times and one
// waiting loop): every task that is not finished waits for its deadline (spec.limits.timeout), so
// with a timer each, 10,000 tasks held 10,000 Timeouts, their closures and a timer list per distinct
// delay. Here a key is a number in a Map and an entry in a binary min-heap; one timer is armed for
// the earliest. A key's earliest deadline wins; an entry superseded by an earlier one stays in the
// heap until it comes up and is then skipped (its time is no longer the key's).

/** setTimeout's longest delay: a longer one fires at once (and warns). Longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadlines {
  private readonly at = new Map<string, number>();
  private readonly heap: { at: number; key: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(
    private readonly fire: (key: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fires key at time `at` (ms since the epoch, by now()), unless it is due earlier already. */
  set(key: string, at: number): void {
    const pending = this.at.get(key);
    if (pending !== undefined && pending <= at) return;
    this.at.set(key, at);
    this.push({ at, key });
    // Superseded entries are skipped when they come up; should they pile up, rebuild from the Map.
    if (this.heap.length > 2 * this.at.size + 1024) {
      this.heap.length = 0;
      for (const [k, t] of this.at) this.push({ at: t, key: k });
    }
    if (at < this.armedFor) this.arm();
  }

  has(key: string): boolean {
    return this.at.has(key);
  }

  get size(): number {
    return this.at.size;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    this.at.clear();
    this.heap.length = 0;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const top = this.heap[0];
    if (!top) {
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    this.armedFor = top.at;
    const delay = Math.max(top.at - this.now(), 0);
    // When the timer fires, what it was armed for is due even by a clock that says otherwise (a
    // test's frozen now(), a timer that fired a millisecond early): as each key's own timer was.
    const dueBy = delay <= MAX_TIMER_MS ? top.at : -Infinity;
    this.timer = setTimeout(() => this.due(dueBy), Math.min(delay, MAX_TIMER_MS));
    this.timer.unref();
  }

  private due(dueBy: number): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Math.max(this.now(), dueBy);
    const ready: string[] = [];
    while (this.heap.length && this.heap[0]!.at <= now) {
      const { at, key } = this.pop();
      if (this.at.get(key) !== at) continue;
      this.at.delete(key);
      ready.push(key);
    }
    this.arm();
    for (const key of ready) this.fire(key);
  }

  private push(e: { at: number; key: string }): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): { at: number; key: string } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
