import { eventName, Expectations, jsonEqual, RecentSet } from '../../../operator/src/controller/status.js';

describe('jsonEqual', () => {
  it('treats undefined members as absent and ignores key order', () => {
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
  });

  it('sees every semantic difference', () => {
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 0 })).toBe(false);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: [1] }, { a: [1, 1] })).toBe(false);
    expect(jsonEqual({ a: '1' }, { a: 1 })).toBe(false);
    expect(jsonEqual({ a: null }, { a: undefined })).toBe(false);
    expect(jsonEqual({ a: {} }, { a: [] })).toBe(false);
    expect(jsonEqual({ c: [{ type: 'Ready', status: 'True' }] }, { c: [{ type: 'Ready', status: 'False' }] })).toBe(false);
  });

  it('agrees with a JSON round trip on a realistic status', () => {
    const status = { phase: 'Running', iteration: 2, conditions: [{ type: 'Progressing', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'Running', message: 'x' }], tests: { passed: 3, failing: ['a'] } };
    expect(jsonEqual(status, JSON.parse(JSON.stringify(status)))).toBe(true);
  });
});

describe('eventName', () => {
  it('is deterministic per object, reason and message', () => {
    expect(eventName('t', 'u1', 1, 'StageStarted', 'm')).toBe(eventName('t', 'u1', 1, 'StageStarted', 'm'));
    expect(eventName('t', 'u1', 1, 'StageStarted', 'm')).not.toBe(eventName('t', 'u2', 1, 'StageStarted', 'm'));
    expect(eventName('t', 'u1', 1, 'StageStarted', 'm')).not.toBe(eventName('t', 'u1', 1, 'StageStarted', 'n'));
    // Suspended again after a resume: a new spec generation, a new Event.
    expect(eventName('t', 'u1', 3, 'Suspended', 'm')).not.toBe(eventName('t', 'u1', 1, 'Suspended', 'm'));
    expect(eventName('t', 'u1', 1, 'A', 'm')).toMatch(/^t\.[0-9a-f]{16}$/);
  });
});

describe('RecentSet', () => {
  it('evicts the oldest entry beyond its size', () => {
    const s = new RecentSet(2);
    s.add('a');
    s.add('b');
    s.add('c');
    expect(s.has('a')).toBe(false);
    expect(s.has('b') && s.has('c')).toBe(true);
    expect(s.size).toBe(2);
  });
});

describe('Expectations', () => {
  it('remembers a create until it is observed', () => {
    const e = new Expectations();
    e.expect('ns/t', 'p1');
    e.expect('ns/t', 'p2');
    expect(e.pending('ns/t').sort()).toEqual(['p1', 'p2']);
    e.observed('ns/t', 'p1');
    expect(e.has('ns/t', 'p1')).toBe(false);
    expect(e.has('ns/t', 'p2')).toBe(true);
    e.forget('ns/t');
    expect(e.pending('ns/t')).toEqual([]);
  });

  it('lets an expectation lapse after its time to live', () => {
    let now = 0;
    const e = new Expectations(1000, () => now);
    e.expect('k', 'p');
    now = 999;
    expect(e.has('k', 'p')).toBe(true);
    now = 1000;
    expect(e.has('k', 'p')).toBe(false);
  });
});
