// Pure helpers of reconcile: when a status write is needed, how Events are named, which tasks a pool
// change should wake.
import { createHash } from 'node:crypto';

export { jsonEqual } from '../core/equal.js';

/**
 * A deterministic Event name: the same transition of the same task object always yields the same
 * name, so re-running decide() after a failed status write, or after a restart, cannot post the
 * Event twice (the second create is a 409).
 */
export function eventName(objectName: string, uid: string | undefined, generation: number | undefined, reason: string, message: string): string {
  // The generation tells apart a transition repeated after a spec edit (suspended, resumed,
  // suspended again); a reconcile retried for the same transition still lands on the same name.
  const h = createHash('sha256').update(`${uid ?? ''}\n${generation ?? 0}\n${reason}\n${message}`).digest('hex').slice(0, 16);
  // Event names are DNS subdomains (253 characters), and so are task names: a cut one must not end in '-' or '.'.
  return `${objectName.slice(0, 200).replace(/[-.]+$/, '')}.${h}`;
}

/** A bounded set with insertion-order eviction: remembers recent Event names to skip the 409. */
export class RecentSet {
  private readonly items = new Set<string>();
  constructor(private readonly max = 10_000) {}
  has(k: string): boolean {
    return this.items.has(k);
  }
  add(k: string): void {
    this.items.delete(k);
    this.items.add(k);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value as string);
  }
  get size(): number {
    return this.items.size;
  }
}

/**
 * Created-but-not-yet-seen objects, after client-go's ControllerExpectations: the informer lags a
 * create by a few milliseconds, and a reconcile in that gap must neither create the object again
 * nor take its absence for a lost stage. An expectation lapses after ttlMs in case the object never
 * shows up (deleted at once, or the watch missed it and a relist will tell).
 */
export class Expectations {
  private readonly byKey = new Map<string, Map<string, number>>();
  constructor(
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  expect(owner: string, name: string): void {
    let m = this.byKey.get(owner);
    if (!m) this.byKey.set(owner, (m = new Map()));
    m.set(name, this.now() + this.ttlMs);
  }

  observed(owner: string, name: string): void {
    const m = this.byKey.get(owner);
    if (!m) return;
    m.delete(name);
    if (m.size === 0) this.byKey.delete(owner);
  }

  /** Names still expected for this owner (lapsed ones are dropped). */
  pending(owner: string): string[] {
    const m = this.byKey.get(owner);
    if (!m) return [];
    const now = this.now();
    for (const [name, until] of m) if (until <= now) m.delete(name);
    if (m.size === 0) this.byKey.delete(owner);
    return [...m.keys()];
  }

  has(owner: string, name: string): boolean {
    return this.pending(owner).includes(name);
  }

  forget(owner: string): void {
    this.byKey.delete(owner);
  }
}
