// What people change on a running task (from Slack or kubectl): spec.stop ends it for good,
// spec.guidance reaches every later repair stage and the code stage of a fresh start.
import { describe, expect, test } from '@jest/globals';
import { ok, ran, simulate, spec, world, type Script } from './driver.js';

const failing: Script = {
  code: [ok('code', 'c1')],
  test: [ok('test', 't1')],
  run: [ran(8, 10, ['test_a', 'test_b']), ran(9, 10, ['test_b']), ran(10, 10)],
  repair: [ok('repair', 'r1'), ok('repair', 'r2')],
};

describe('spec.stop', () => {
  test('stops the live stages and ends Failed/Stopped, whatever the loop would do next', () => {
    const t = simulate(world(), { ...failing, repair: ['hang'] }, {
      onCall: (w) => {
        if (w.status.phase === 'Repairing') w.spec = { ...w.spec, stop: true };
      },
    });
    expect(t.status).toMatchObject({ phase: 'Failed', reason: 'Stopped', message: 'stopped for good: spec.stop is true' });
    expect(t.stopped).toEqual(['fizzbuzz-i2-repair-a0']);
    expect(t.status.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ status: 'True', reason: 'Stopped' });
  });

  test('success already reached wins over a late stop', () => {
    const t = simulate(world({ spec: spec({ stop: false }) }), { ...failing, run: [ran(10, 10)] });
    expect(t.status.phase).toBe('Succeeded');
  });
});

describe('spec.guidance', () => {
  test('a hint given while the task runs reaches the repair stages started after it, in order', () => {
    const t = simulate(world(), failing, {
      onCall: (w) => {
        if (w.status.stages?.some((s) => s.name === 'fizzbuzz-i2-repair-a0' && s.state === 'Succeeded')) w.spec = { ...w.spec, guidance: ['test_b needs the list sorted'] };
      },
    });
    expect(t.status.phase).toBe('Succeeded');
    expect(t.contexts.get('fizzbuzz-i2-repair-a0')!.guidance).toBeUndefined();
    expect(t.contexts.get('fizzbuzz-i3-repair-a0')!.guidance).toEqual(['test_b needs the list sorted']);
  });

  test('a fresh start after a stall carries the guidance to the code agent; the first code stage never does', () => {
    const stuck: Script = { ...failing, run: [ran(8, 10, ['test_a', 'test_b'])], repair: [ok('repair', 'r')] };
    const t = simulate(world({ spec: spec({ guidance: ['use a dict'], limits: { maxIterations: 8, maxCostUSD: '5', timeout: '2h' } }) }), stuck);
    expect(t.contexts.get('fizzbuzz-i1-code-a0')!.guidance).toBeUndefined();
    const fresh = [...t.contexts.entries()].find(([name, c]) => name.includes('-code-') && c.freshStart);
    expect(fresh?.[1].guidance).toEqual(['use a dict']);
  });
});
