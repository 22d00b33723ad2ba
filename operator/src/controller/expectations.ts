// What reconcile expects the informer caches to show and they do not show yet (client-go's
// ControllerExpectations and the like): the caches lag our own writes by a few milliseconds, and a
// reconcile in that gap must neither repeat a write nor take an absence for a loss.
import type { V1Pod } from '@kubernetes/client-node';
import type { CodingTask } from '../api/types.js';

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

/** Our last status write per task while the cache still shows the version it replaced. */
export class StatusOverlay {
  private readonly written = new Map<string, { baseResourceVersion: string | undefined; task: CodingTask }>();

  /** The newest version of a task we know: the cache, or our own write the cache has not caught up with. */
  current(cached: CodingTask): CodingTask {
    const key = `${cached.metadata.namespace}/${cached.metadata.name}`;
    const w = this.written.get(key);
    if (!w) return cached;
    if (cached.metadata.resourceVersion === w.baseResourceVersion) return w.task;
    this.written.delete(key);
    return cached;
  }

  wrote(key: string, baseResourceVersion: string | undefined, task: CodingTask): void {
    this.written.set(key, { baseResourceVersion, task });
  }

  /** The cache moved past our last write of this task: the overlay is not needed any more. */
  cached(key: string, resourceVersion: string | undefined): void {
    const w = this.written.get(key);
    if (w && w.baseResourceVersion !== resourceVersion) this.written.delete(key);
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}

/**
 * Pods created (or being created) and not yet seen in the cache, by namespace/name. They hold GPUs
 * all the same: without them two workers (or one, twice in a row) could both take a pool's last GPU.
 */
export class PodsInFlight {
  private readonly pods = new Map<string, V1Pod>();

  add(namespace: string, name: string, pod: V1Pod): void {
    this.pods.set(`${namespace}/${name}`, pod);
  }

  /** The cache now shows this Pod (or its deletion), or its create failed. */
  seen(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  /** The cached Pods of a namespace plus those in flight there. */
  withCached(namespace: string, cached: V1Pod[]): V1Pod[] {
    const names = new Set(cached.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    const out = [...cached];
    for (const [k, p] of this.pods) {
      if (names.has(k)) this.pods.delete(k);
      else if (p.metadata?.namespace === namespace) out.push(p);
    }
    return out;
  }
}
