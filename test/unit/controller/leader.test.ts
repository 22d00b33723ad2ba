// The elector's rules against an in-memory Lease API that answers as the apiserver does for one
// Lease (404, 409 on create and on a stale resourceVersion, the object crossing a JSON boundary),
// under fake timers. The real apiserver and two operator processes are in
// test/integration/controller/ha.test.ts.
import { jest } from '@jest/globals';
import { ApiException, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { LeaderElector } from '../../../operator/src/controller/leader.js';
import { createLogger } from '../../../operator/src/util/log.js';

const NS = 'autorun';
const NAME = 'autorun-operator';
const LEASE_S = 15;
const RENEW_DEADLINE_MS = 10_000;
const RETRY_MS = 2_000;

type Verb = 'read' | 'create' | 'replace';
/** An error, a request that never answers, a number of ms the answer takes, or normal. */
type Fault = Error | 'hang' | number | undefined;

const apiError = (code: number, reason: string) => new ApiException<string>(code, `HTTP-Code: ${code} Message: ${reason}`, JSON.stringify({ kind: 'Status', reason, code }), {});
const wire = (lease: V1Lease): V1Lease => JSON.parse(JSON.stringify(lease)) as V1Lease;

class FakeLeaseApi {
  stored: V1Lease | undefined;
  calls: Verb[] = [];
  /** Decides how a call goes before the Lease is looked at: an error, a request that never answers, or normal. */
  fault: (verb: Verb) => Fault = () => undefined;
  private rv = 100;

  private async gate(verb: Verb): Promise<void> {
    this.calls.push(verb);
    const f = this.fault(verb);
    if (f === 'hang') await new Promise<never>(() => {});
    if (typeof f === 'number') await new Promise((r) => setTimeout(r, f));
    else if (f) throw f;
  }

  private store(lease: V1Lease): V1Lease {
    this.stored = wire({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } });
    return wire(this.stored);
  }

  async readNamespacedLease({ name, namespace }: { name: string; namespace: string }): Promise<V1Lease> {
    await this.gate('read');
    if (!this.stored || name !== NAME || namespace !== NS) throw apiError(404, 'NotFound');
    return wire(this.stored);
  }

  async createNamespacedLease({ namespace, body }: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    await this.gate('create');
    if (namespace !== NS || body.metadata?.name !== NAME) throw apiError(400, 'BadRequest');
    if (this.stored) throw apiError(409, 'AlreadyExists');
    return this.store(body);
  }

  async replaceNamespacedLease({ name, namespace, body }: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    await this.gate('replace');
    if (!this.stored || name !== NAME || namespace !== NS) throw apiError(404, 'NotFound');
    if (body.metadata?.resourceVersion !== this.stored.metadata?.resourceVersion) throw apiError(409, 'Conflict');
    return this.store(body);
  }

  /** Another replica's write, as the apiserver would record it. */
  put(spec: V1Lease['spec']): void {
    this.store({ metadata: { name: NAME, namespace: NS }, spec });
  }

  holder(): string | undefined {
    return this.stored?.spec?.holderIdentity ?? undefined;
  }
}

interface Candidate {
  elector: LeaderElector;
  transitions: boolean[];
}

const electors: LeaderElector[] = [];

function candidate(api: FakeLeaseApi, identity: string): Candidate {
  const transitions: boolean[] = [];
  const elector = new LeaderElector({
    api: api as unknown as CoordinationV1Api,
    namespace: NS,
    name: NAME,
    identity,
    leaseDurationSeconds: LEASE_S,
    renewDeadlineMs: RENEW_DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    log: createLogger('leader-test', 'error'),
    onStartedLeading: () => transitions.push(true),
    onStoppedLeading: () => transitions.push(false),
  });
  electors.push(elector);
  return { elector, transitions };
}

/** Candidate a, started, after its first attempt (it leads when the Lease was free). */
async function started(api: FakeLeaseApi): Promise<Candidate> {
  const a = candidate(api, 'a');
  a.elector.start();
  await advance(0);
  return a;
}

/** Candidate a takes the free Lease; then b starts beside it. */
async function leaderAndFollower(api: FakeLeaseApi): Promise<{ a: Candidate; b: Candidate }> {
  const a = await started(api);
  const b = candidate(api, 'b');
  b.elector.start();
  return { a, b };
}

const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

// Fake timers: a test that waits on a real clock is one whose elector hangs.
jest.setTimeout(10_000);

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2025-06-01T12:00:00Z') });
});

afterEach(async () => {
  const stopping = Promise.all(electors.splice(0).map((e) => e.stop()));
  await advance(3 * RENEW_DEADLINE_MS);
  await stopping;
  jest.useRealTimers();
});

describe('LeaderElector', () => {
  test('creates the Lease when there is none and leads', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.transitions).toEqual([true]);
    expect(api.calls).toEqual(['read', 'create']);
    expect(api.stored?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: LEASE_S, leaseTransitions: 0 });
  });

  test('takes a free Lease (no holder) at once, counting a transition', async () => {
    const api = new FakeLeaseApi();
    api.put({ leaseDurationSeconds: 1, leaseTransitions: 3, renewTime: new Date(Date.now()).toISOString() as unknown as Date });
    const a = await started(api);
    expect(a.elector.isLeader()).toBe(true);
    expect(api.stored?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: LEASE_S, leaseTransitions: 4 });
  });

  test("takes a held Lease only after it went unrenewed for leaseDuration on the candidate's own clock", async () => {
    const api = new FakeLeaseApi();
    // The holder's renewTime is an hour old by our clock: that alone proves nothing (clocks are skewed),
    // so the candidate still waits a full leaseDuration from when it first saw this record.
    api.put({ holderIdentity: 'gone', leaseDurationSeconds: LEASE_S, leaseTransitions: 1, renewTime: new Date(Date.now() - 3_600_000).toISOString() as unknown as Date });
    const a = candidate(api, 'a');
    a.elector.start();
    await advance(LEASE_S * 1000 - RETRY_MS);
    expect(a.elector.isLeader()).toBe(false);
    expect(api.holder()).toBe('gone');
    expect(api.calls).not.toContain('replace');
    await advance(2 * RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(api.stored?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 2 });
  });

  test('a follower never takes a Lease its holder keeps renewing', async () => {
    const api = new FakeLeaseApi();
    const { a, b } = await leaderAndFollower(api);
    await advance(10 * LEASE_S * 1000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.transitions).toEqual([]);
    expect(api.holder()).toBe('a');
  });

  test('the leader renews every retryPeriod, keeping acquireTime and the transition count', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    const first = api.stored!.spec!;
    const renewals: string[] = [];
    for (let i = 0; i < 3; i++) {
      await advance(RETRY_MS);
      renewals.push(String(api.stored!.spec!.renewTime));
    }
    expect(api.calls.filter((c) => c === 'replace')).toHaveLength(3);
    expect(new Set(renewals).size).toBe(3);
    expect(Date.parse(renewals[2]!) - Date.parse(String(first.renewTime))).toBe(3 * RETRY_MS);
    expect(api.stored?.spec).toMatchObject({ holderIdentity: 'a', acquireTime: first.acquireTime, leaseTransitions: 0 });
    expect(a.transitions).toEqual([true]);
  });

  test.each<[string, (verb: Verb) => Fault]>([
    ['the apiserver answers 500', () => apiError(500, 'InternalError')],
    ['the connection is refused', () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })],
    ['every renewal conflicts', (verb) => (verb === 'replace' ? apiError(409, 'Conflict') : undefined)],
    ['requests never answer', () => 'hang'],
  ])('steps down within renewDeadline of its last renewal when %s, before the Lease expires for others', async (_, fault) => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    const lastRenewal = Date.now();
    api.fault = fault;
    await advance(RENEW_DEADLINE_MS - 1);
    expect(a.elector.isLeader()).toBe(true);
    await advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.transitions).toEqual([true, false]);
    expect(Date.now() - lastRenewal).toBeLessThan(LEASE_S * 1000);
  });

  test('leads again when the apiserver comes back and the Lease is still its own', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    api.fault = () => 'hang';
    await advance(RENEW_DEADLINE_MS);
    expect(a.elector.isLeader()).toBe(false);
    api.fault = () => undefined;
    await advance(RENEW_DEADLINE_MS + RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.transitions).toEqual([true, false, true]);
  });

  test('a slow apiserver (each renewal answering after more than retryPeriod, well within renewDeadline) keeps the leader', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    // 4 s per renewal: the next one starts as soon as this one answers (its retryPeriod has passed),
    // so a renewal lands every 4 s. Waiting a retryPeriod after each answer put them 6 s apart and
    // the third one after the 10 s deadline.
    api.fault = (verb) => (verb === 'replace' ? 4_000 : undefined);
    await advance(6 * RENEW_DEADLINE_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.transitions).toEqual([true]);
    expect(api.calls.filter((c) => c === 'replace').length).toBeGreaterThanOrEqual((6 * RENEW_DEADLINE_MS) / 4_000 - 1);
  });

  test('renewals failing for less than renewDeadline do not step down', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    api.fault = () => apiError(503, 'ServiceUnavailable');
    // The renewals at 2, 4 and 6 s fail; the one at 8 s, within the 10 s deadline, succeeds.
    await advance(RENEW_DEADLINE_MS - 2 * RETRY_MS);
    expect(api.calls.slice(-3)).toEqual(['read', 'read', 'read']);
    api.fault = () => undefined;
    await advance(5 * RENEW_DEADLINE_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.transitions).toEqual([true]);
  });

  test('409 on create: another replica created the Lease first, so this one does not lead', async () => {
    const api = new FakeLeaseApi();
    // b's create lands between a's read (404) and a's create.
    api.fault = (verb) => {
      if (verb === 'create') api.put({ holderIdentity: 'b', leaseDurationSeconds: LEASE_S, leaseTransitions: 0, renewTime: new Date(Date.now()).toISOString() as unknown as Date });
      return undefined;
    };
    const a = await started(api);
    expect(api.calls).toEqual(['read', 'create']);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.transitions).toEqual([]);
    expect(api.holder()).toBe('b');
  });

  test('409 on replace: another replica took the expired Lease first, so this one does not lead', async () => {
    const api = new FakeLeaseApi();
    api.put({ holderIdentity: 'gone', leaseDurationSeconds: LEASE_S, leaseTransitions: 1, renewTime: new Date(Date.now()).toISOString() as unknown as Date });
    const a = candidate(api, 'a');
    a.elector.start();
    await advance(LEASE_S * 1000 - RETRY_MS);
    // b's takeover lands between a's read and a's replace, which now carries a stale resourceVersion.
    api.fault = (verb) => {
      if (verb === 'replace') api.put({ holderIdentity: 'b', leaseDurationSeconds: LEASE_S, leaseTransitions: 2, renewTime: new Date(Date.now()).toISOString() as unknown as Date });
      return undefined;
    };
    await advance(2 * RETRY_MS);
    api.fault = () => undefined;
    expect(api.calls.filter((c) => c === 'replace')).toHaveLength(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.transitions).toEqual([]);
    expect(api.holder()).toBe('b');
  });

  test('a leader that finds another holder in the Lease steps down at once', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    api.put({ holderIdentity: 'b', leaseDurationSeconds: LEASE_S, leaseTransitions: 1, renewTime: new Date(Date.now()).toISOString() as unknown as Date });
    await advance(RETRY_MS);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.transitions).toEqual([true, false]);
    expect(api.holder()).toBe('b');
  });

  test('stop() releases the Lease (no holder) and a follower takes over on its next poll, not after leaseDuration', async () => {
    const api = new FakeLeaseApi();
    const { a, b } = await leaderAndFollower(api);
    await advance(RETRY_MS);
    expect(b.elector.isLeader()).toBe(false);

    await a.elector.stop();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.transitions).toEqual([true, false]);
    expect(api.holder()).toBeUndefined();
    expect(api.stored?.spec?.leaseDurationSeconds).toBe(1);

    await advance(RETRY_MS);
    expect(b.elector.isLeader()).toBe(true);
    expect(api.stored?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  test('stop() of a follower leaves the Lease alone', async () => {
    const api = new FakeLeaseApi();
    const { b } = await leaderAndFollower(api);
    await advance(RETRY_MS);
    const before = JSON.stringify(api.stored);
    const writes = api.calls.filter((c) => c !== 'read').length;
    await b.elector.stop();
    expect(JSON.stringify(api.stored)).toBe(before);
    expect(api.calls.filter((c) => c !== 'read')).toHaveLength(writes);
    expect(b.transitions).toEqual([]);
  });

  test('stop() returns even when the apiserver never answers', async () => {
    const api = new FakeLeaseApi();
    const a = await started(api);
    api.fault = () => 'hang';
    await advance(RETRY_MS);
    let stopped = false;
    void a.elector.stop().then(() => (stopped = true));
    await advance(2 * RENEW_DEADLINE_MS);
    expect(stopped).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
  });
});
