// Pure helpers of reconcile: when a status write is needed, how Events are named.
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

export { Expectations } from './expectations.js';
