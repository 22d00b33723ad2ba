import { getCondition, setCondition } from '../../../operator/src/core/conditions.js';

const t1 = new Date('2030-01-01T00:00:00.000Z');
const t2 = new Date('2030-01-01T01:00:00.000Z');

describe('setCondition', () => {
  test('adds a condition with the transition time', () => {
    const c = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Coding', message: 'working' }, t1, 3);
    expect(c).toEqual([{ type: 'Ready', status: 'False', reason: 'Coding', message: 'working', lastTransitionTime: t1.toISOString(), observedGeneration: 3 }]);
  });

  test('keeps lastTransitionTime when only reason and message change', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Coding', message: 'working' }, t1);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'Running', message: 'tests' }, t2);
    expect(getCondition(b, 'Ready')).toMatchObject({ reason: 'Running', lastTransitionTime: t1.toISOString() });
  });

  test('moves lastTransitionTime when the status flips, and keeps the order', () => {
    let c = setCondition(undefined, { type: 'Progressing', status: 'True', reason: 'Coding', message: '' }, t1);
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'Coding', message: '' }, t1);
    const d = setCondition(c, { type: 'Progressing', status: 'False', reason: 'Suspended', message: '' }, t2);
    expect(d.map((x) => x.type)).toEqual(['Progressing', 'Ready']);
    expect(getCondition(d, 'Progressing')?.lastTransitionTime).toBe(t2.toISOString());
    expect(c).not.toBe(d);
    expect(getCondition(c, 'Progressing')?.status).toBe('True');
  });
});
