// LoopOutput.deferrable: which status changes a shell may leave for its next write, and that a
// shell skipping them reaches the same statuses, with the same Events, in fewer writes.
import { jsonEqual } from '../../../operator/src/core/equal.js';
import { decide } from '../../../operator/src/core/loop.js';
import type { LoopOutput, ObservedStage } from '../../../operator/src/core/types.js';
import { input, ok, ran, world, type World } from './driver.js';

const T = (minute: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + minute * 60_000).toISOString();
const events = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'Event' ? [`${a.reason} ${a.message}`] : []));
const starts = (o: LoopOutput) => o.actions.flatMap((a) => (a.type === 'StartStage' ? [a.name] : []));

function stage(role: 'code' | 'test' | 'run', state: ObservedStage['state'], extra: Partial<ObservedStage> = {}): ObservedStage {
  return { name: `fizzbuzz-i1-${role}-a0`, iteration: 1, role, attempt: 0, state, startTime: T(0), ...extra };
}
const done = (role: 'code' | 'test' | 'run', result: ObservedStage['result'], minute: number) => stage(role, 'Finished', { result, finishTime: T(minute) });

/** A shell that writes only what is not deferrable; returns the output and whether it wrote. */
function call(w: World, minute: number, observed: ObservedStage[]): { out: LoopOutput; wrote: boolean } {
  w.now = new Date(T(minute));
  w.observed = observed;
  const out = decide(input(w));
  const changed = !jsonEqual(out.status, w.status);
  const wrote = changed && !out.deferrable;
  if (wrote) w.status = out.status;
  return { out, wrote };
}

describe('deferrable status changes', () => {
  test('stages going Pending → Running are not worth a write; the next needed write records them', () => {
    const w = world();
    const first = call(w, 0, []);
    expect(first.wrote).toBe(true);
    expect(starts(first.out)).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0']);
    expect(w.status.stages?.map((s) => s.state)).toEqual(['Pending', 'Pending']);

    const running = call(w, 1, [stage('code', 'Running'), stage('test', 'Running')]);
    expect(running.out.status.stages?.map((s) => s.state)).toEqual(['Running', 'Running']);
    expect(running.out.deferrable).toBe(true);
    expect(running.wrote).toBe(false);
    expect(events(running.out)).toEqual([]);

    // The code stage succeeds while the test stage still runs: deferred too, but its Event is not.
    const codeDone = call(w, 2, [done('code', ok('code', 'c1'), 2), stage('test', 'Running')]);
    expect(codeDone.out.deferrable).toBe(true);
    expect(codeDone.wrote).toBe(false);
    expect(events(codeDone.out)).toEqual(['StageSucceeded fizzbuzz-i1-code-a0 succeeded: code wrote c1']);
    expect(codeDone.out.status.cost?.llmUSD).toBe('0.0100');

    // Both done: the run starts, and one write carries everything held back.
    const testDone = call(w, 3, [done('code', ok('code', 'c1'), 2), done('test', ok('test', 't1'), 3)]);
    expect(testDone.out.deferrable).toBe(false);
    expect(testDone.wrote).toBe(true);
    expect(starts(testDone.out)).toEqual(['fizzbuzz-i1-run-a0']);
    expect(w.status.phase).toBe('Running');
    expect(w.status.stages?.map((s) => `${s.role}:${s.state}`)).toEqual(['code:Succeeded', 'test:Succeeded', 'run:Pending']);
    expect(w.status.cost?.llmUSD).toBe('0.0200');
    // The code stage's Event comes again from this diff; the shell posts Events under content
    // names, so it is the same Event, not a second one.
    expect(events(testDone.out)).toContain('StageSucceeded fizzbuzz-i1-code-a0 succeeded: code wrote c1');
  });

  test('a status the loop acts on is never deferred', () => {
    // A stage that gave up while its partner runs: the retry is a decision.
    const w = world();
    call(w, 0, []);
    const gaveUp = call(w, 2, [done('code', { role: 'code', outcome: 'Failed', summary: 'no idea', reason: 'TurnCap' }, 2), stage('test', 'Running')]);
    expect(gaveUp.out.deferrable).toBe(false);

    // Unschedulable is news for the user (a condition and a Warning), not a detail.
    const w2 = world();
    call(w2, 0, []);
    const stuck = call(w2, 1, [stage('code', 'Pending', { unschedulable: true, unschedulableMessage: '0/3 nodes' }), stage('test', 'Running')]);
    expect(stuck.out.deferrable).toBe(false);

    // The last stage of a task finishing ends it.
    const w3 = world();
    call(w3, 0, []);
    call(w3, 3, [done('code', ok('code', 'c1'), 2), done('test', ok('test', 't1'), 3)]);
    const end = call(w3, 4, [done('code', ok('code', 'c1'), 2), done('test', ok('test', 't1'), 3), done('run', ran(10, 10), 4)]);
    expect(end.out.deferrable).toBe(false);
    expect(w3.status.phase).toBe('Succeeded');
  });

  test('an unchanged status is not "deferrable": there is nothing to defer', () => {
    const w = world();
    call(w, 0, []);
    const again = call(w, 0, [stage('code', 'Pending'), stage('test', 'Pending')]);
    expect(again.out.deferrable).toBe(false);
    expect(again.wrote).toBe(false);
  });
});
