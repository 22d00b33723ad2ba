// Lease-based leader election (coordination.k8s.io/v1), after client-go's leaderelection:
// - a candidate takes the Lease when it is free or its holder has not renewed within
//   leaseDurationSeconds *as measured on our own clock since we last saw the record change*
//   (so clock skew between replicas does not matter);
// - the leader renews every retryPeriod and steps down if it could not renew for renewDeadline
//   (before anyone else may take over, since renewDeadline < leaseDuration);
// - every write carries the resourceVersion read, so two candidates cannot both win;
// - on graceful shutdown the leader releases the Lease so the follower takes over at once.
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';
import { errText } from './informer.js';

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Counts our API writes (create/update of the Lease) with the HTTP status (undefined: no response). A Lease
   *  create answers 201 and an update 200 when they succeed (the apiserver's REST semantics). */
  onWrite?: (verb: 'create' | 'update', code: number | undefined) => void;
}

export class LeaderElector {
  private leader = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { resourceVersion?: string; holder?: string; renewTime?: string } = {};
  private observedAt = 0;
  private deadline: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.leaseMs = (o.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
  }

  /** Attempts to acquire or renew the Lease made so far, won or lost (what a test can wait on). */
  attempts = 0;

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; the leader releases the Lease (best effort) so a follower need not wait. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.leader) {
      this.setLeader(false);
      await this.bounded(this.release(), undefined);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const startedAt = Date.now();
    this.running = this.attempt();
    await this.running;
    if (this.stopped) return;
    // A follower polls at the retry period; a leader renews at it, counted from the start of the
    // last attempt as client-go's wait.Until does. Counted from its end, one slow apiserver answer
    // (a busy control plane takes seconds) pushed the next renewal past the renew deadline, and a
    // healthy leader stepped down.
    this.timer = setTimeout(() => void this.tick(), Math.max(0, startedAt + this.retryMs - Date.now()));
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    try {
      await this.acquireOrRenew();
    } finally {
      this.attempts++;
    }
  }

  private async acquireOrRenew(): Promise<void> {
    const startedAt = Date.now();
    try {
      if (!(await this.bounded(this.tryAcquireOrRenew(), false))) return;
    } catch (err) {
      this.o.log.warn('leader election error', { err: errText(err) });
      return;
    }
    // The deadline is the only way a leader steps down for want of renewals, whatever keeps them from
    // succeeding (errors, conflicts, requests that never answer). It counts from the start of the
    // last successful attempt, the earliest the others can have seen it, so the leader stops acting
    // before the Lease expires for them (renewDeadline < leaseDuration).
    clearTimeout(this.deadline);
    // Already past when the renewal itself took longer than the deadline: at once (a negative delay
    // does the same, with a warning from Node).
    this.deadline = setTimeout(() => {
      this.o.log.warn('could not renew the lease in time, stepping down', { lease: this.o.name });
      this.setLeader(false);
    }, Math.max(0, startedAt + this.renewDeadlineMs - Date.now()));
    this.deadline.unref();
    if (!this.leader) this.setLeader(true);
  }

  // client-go bounds each attempt by the renew deadline too: a request that never answers (a silent
  // network partition; client-node sets no request timeout by default) would otherwise stall the loop,
  // and stop() with it.
  private bounded<T>(p: Promise<T>, onTimeout: T): Promise<T> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<T>((resolve) => {
      t = setTimeout(() => resolve(onTimeout), this.renewDeadlineMs);
      t.unref();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  }

  private setLeader(v: boolean): void {
    if (!v) clearTimeout(this.deadline);
    this.leader = v;
    this.o.log.info(v ? 'became leader' : 'lost leadership', { identity: this.o.identity, lease: `${this.o.namespace}/${this.o.name}` });
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private spec(acquireTime: string | Date | undefined, transitions: number): V1Lease['spec'] {
    const now = new V1MicroTime(Date.now());
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.leaseMs / 1000,
      acquireTime: (acquireTime as V1MicroTime | undefined) ?? now,
      renewTime: now,
      leaseTransitions: transitions,
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      try {
        await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(undefined, 0) } });
        this.o.onWrite?.('create', 201);
        this.observedAt = Date.now();
        return true;
      } catch (e) {
        this.o.onWrite?.('create', (e as { code?: number }).code);
        if ((e as { code?: number }).code === 409) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const renew = spec.renewTime ? String(spec.renewTime as unknown) : undefined;
    if (lease.metadata?.resourceVersion !== this.observed.resourceVersion || spec.holderIdentity !== this.observed.holder || renew !== this.observed.renewTime) {
      this.observed = { resourceVersion: lease.metadata?.resourceVersion, holder: spec.holderIdentity ?? undefined, renewTime: renew };
      this.observedAt = Date.now();
    }
    const holder = spec.holderIdentity;
    const duration = (spec.leaseDurationSeconds ?? this.leaseMs / 1000) * 1000;
    const mine = holder === identity;
    if (!mine && holder && this.leader) {
      this.o.log.warn('another replica holds the lease, stepping down', { holder });
      this.setLeader(false);
    }
    if (!mine && holder && Date.now() < this.observedAt + duration) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    try {
      const updated = await api.replaceNamespacedLease({
        name,
        namespace,
        body: { metadata: { ...lease.metadata, name, namespace }, spec: this.spec(mine ? (spec.acquireTime as unknown as string) : undefined, transitions) },
      });
      this.o.onWrite?.('update', 200);
      this.observed = { resourceVersion: updated.metadata?.resourceVersion, holder: identity, renewTime: String(updated.spec?.renewTime as unknown) };
      this.observedAt = Date.now();
      return true;
    } catch (err) {
      this.o.onWrite?.('update', (err as { code?: number }).code);
      if ((err as { code?: number }).code === 409) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { api, namespace, name, identity } = this.o;
    try {
      const lease = await api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      // client-go's release: no holder, a 1 s duration, so any candidate may take it immediately.
      await api
        .replaceNamespacedLease({
          name,
          namespace,
          body: { metadata: lease.metadata, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()) } },
        })
        .then(
          () => this.o.onWrite?.('update', 200),
          (e: unknown) => {
            this.o.onWrite?.('update', (e as { code?: number }).code);
            throw e;
          },
        );
      this.o.log.info('released the lease', { lease: `${namespace}/${name}` });
    } catch (err) {
      this.o.log.warn('could not release the lease', { err: errText(err) });
    }
  }
}
