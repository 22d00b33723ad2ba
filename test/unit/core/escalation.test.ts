// Escalation in the loop core: with spec.escalation.enabled, Stalled and MaxIterations wait in
// NeedsInput (nothing runs, conditions say why) until a person's grant resumes the task from where it
// stopped, with the iterations granted and no more; stop and the timeout still end it.
import { describe, expect, test } from '@jest/globals';
import type { CodingTaskSpec } from '../../../operator/src/api/types.js';
import { ok, ran, simulate, spec, world, type Script, type World } from './driver.js';

const escalating = (maxIterations: number, extra: Partial<CodingTaskSpec> = {}): CodingTaskSpec =>
  spec({ limits: { maxIterations, maxCostUSD: '5', timeout: '2h' }, escalation: { enabled: true, notifyUserGroup: 'SONCALL' }, ...extra });
const improving: Script = {
  code: [ok('code', 'c1')],
  test: [ok('test', 't1')],
  run: [ran(6, 10, ['a', 'b', 'c', 'd']), ran(7, 10, ['b', 'c', 'd']), ran(8, 10, ['c', 'd']), ran(10, 10)],
  repair: [ok('repair', 'r1'), ok('repair', 'r2'), ok('repair', 'r3')],
};
/** A person who grants `iterations` (and a hint) once the task waits for them. */
const person = (iterations: number, hint?: string) => (w: World) => {
  if (w.status.phase !== 'NeedsInput' || w.spec.escalation?.grants?.length) return;
  w.spec = { ...w.spec, escalation: { ...w.spec.escalation, grants: [{ iterations, by: 'alice' }] }, ...(hint ? { guidance: [hint] } : {}) };
};

describe('MaxIterations', () => {
  test('waits in NeedsInput with nothing running, then resumes with the granted iterations and passes', () => {
    const waits: string[] = [];
    const t = simulate(world({ spec: escalating(2) }), improving, {
      onCall: (w) => {
        if (w.status.phase === 'NeedsInput') waits.push(`${w.observed.filter((o) => o.state === 'Running').length} running, ${w.status.reason}`);
        person(2, 'c and d need the cache cleared')(w);
      },
    });
    expect(t.phases).toEqual(['Coding', 'Running', 'Repairing', 'Running', 'NeedsInput', 'Repairing', 'Running', 'Repairing', 'Running', 'Succeeded']);
    expect(waits[0]).toBe('0 running, MaxIterations');
    expect(t.status.iteration).toBe(4);
    // Resumed where it stopped: the next repair has the failures of iteration 2 and the hint.
    expect(t.contexts.get('fizzbuzz-i3-repair-a0')).toMatchObject({ failing: ['b', 'c', 'd'], guidance: ['c and d need the cache cleared'] });
    expect(t.events.find((e) => e.reason === 'NeedsInput')?.message).toMatch(/^iteration 3 would exceed spec.limits.maxIterations \(2\); 3 tests still failing; waiting for a person/);
    expect(t.status.conditions?.find((c) => c.type === 'NeedsInput')).toMatchObject({ status: 'False', reason: 'Resumed' });
  });

  test('the grant is a bound: past it the task waits again, and a stop ends it for good', () => {
    const slow: Script = { ...improving, run: [ran(6, 10, ['a', 'b', 'c', 'd']), ran(7, 10, ['b', 'c', 'd']), ran(8, 10, ['c', 'd']), ran(9, 10, ['d'])] };
    let stopAt: string | undefined;
    const t = simulate(world({ spec: escalating(2) }), slow, {
      onCall: (w) => {
        if (w.status.phase === 'NeedsInput' && w.spec.escalation?.grants?.length) {
          stopAt ??= w.status.message;
          w.spec = { ...w.spec, stop: true };
        }
        person(1)(w);
      },
    });
    expect(stopAt).toMatch(/^iteration 4 would exceed spec.limits.maxIterations plus the granted iterations \(3\)/);
    expect(t.status).toMatchObject({ phase: 'Failed', reason: 'Stopped', iteration: 3 });
  });
});

test('Stalled: waits after the fresh start stalls; a grant carries on repairing (no second fresh start)', () => {
  const stuck = ran(8, 10, ['x', 'y']);
  const script: Script = { code: [ok('code', 'c1')], test: [ok('test', 't1')], run: [stuck, stuck, stuck, stuck, stuck, ran(10, 10)], repair: [ok('repair', 'r')] };
  const t = simulate(world({ spec: escalating(12) }), script, { onCall: person(3, 'x and y share a bug in parse()') });
  expect(t.phases).toContain('NeedsInput');
  const waited = t.events.find((e) => e.reason === 'NeedsInput')!;
  expect(waited.message).toMatch(/^no progress in two repair rounds in a row after a fresh start/);
  expect(t.status.phase).toBe('Succeeded');
  expect(t.started.filter((s) => s.includes('-code-'))).toEqual(['fizzbuzz-i1-code-a0', 'fizzbuzz-i3-code-a0']);
  const after = [...t.contexts.entries()].filter(([, c]) => c.guidance?.length);
  expect(after.map(([n]) => n)).toEqual(['fizzbuzz-i6-repair-a0']);
});

test('without escalation the same task fails as before; while it waits, the timeout still ends it', () => {
  expect(simulate(world({ spec: spec({ limits: { maxIterations: 2, maxCostUSD: '5', timeout: '2h' } }) }), improving).status).toMatchObject({ phase: 'Failed', reason: 'MaxIterations' });
  const t = simulate(world({ spec: escalating(2, { limits: { maxIterations: 2, maxCostUSD: '5', timeout: '10m' } }) }), improving, { maxCalls: 400 });
  expect(t.phases.slice(-2)).toEqual(['NeedsInput', 'Failed']);
  expect(t.status.reason).toBe('Timeout');
});
