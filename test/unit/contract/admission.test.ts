// The slot rule both shells apply (contract/admission.ts): priority first, then first come first served.
import { admitSlots, compareQueueOrder, holdsSlot, rankOf, standsInLine, type SlotCandidate } from '../../../operator/src/contract/admission.js';

function c(key: string, o: Partial<SlotCandidate> = {}): SlotCandidate {
  return { key, phase: 'Queued', priority: 0, suspend: false, deleting: false, generation: 1, observedGeneration: 1, queuedAt: undefined, createdAt: '2026-01-01T00:00:00Z', hasLiveStages: false, ...o };
}

test('priority first: a later task of higher priority goes before an earlier one (the CRD rule; the local tier used to rank queue time first)', () => {
  const early = c('early', { queuedAt: '2026-01-01T00:00:00Z' });
  const urgent = c('urgent', { queuedAt: '2026-01-01T00:05:00Z', priority: 10 });
  const s = admitSlots([c('holder', { phase: 'Coding' }), early, urgent], 2);
  expect(s.byTask.get('urgent')).toEqual({ admitted: true });
  expect(s.byTask.get('early')).toEqual({ admitted: false, queuePosition: 1 });
  expect(s).toMatchObject({ activeTasks: 2, queuedTasks: 1 });
});

test('equal priority: first queued first, then created first, then file order, then key', () => {
  const ranks = [
    c('d', { queuedAt: '2026-01-01T00:00:02Z' }),
    c('c', { queuedAt: '2026-01-01T00:00:01Z', createdAt: '2026-01-01T00:00:01Z' }),
    c('b', { queuedAt: '2026-01-01T00:00:01Z', order: 2 }),
    c('a', { queuedAt: '2026-01-01T00:00:01Z', order: 1 }),
    c('e', { queuedAt: '2026-01-01T00:00:01Z', order: 1 }),
  ].map(rankOf);
  expect(ranks.sort(compareQueueOrder).map((r) => r.key)).toEqual(['a', 'e', 'b', 'c', 'd']);
});

test('queue time is compared to the millisecond (the local tier used to round it to the second)', () => {
  const ranks = [c('second', { queuedAt: '2026-01-01T00:00:00.900Z' }), c('first', { queuedAt: '2026-01-01T00:00:00.100Z', order: 9 })].map(rankOf);
  expect(ranks.sort(compareQueueOrder).map((r) => r.key)).toEqual(['first', 'second']);
});

test('a finished or suspended task with a live stage keeps its slot until the stage ends', () => {
  expect(holdsSlot({ phase: 'Succeeded', deleting: false, hasLiveStages: true })).toBe(true);
  expect(holdsSlot({ phase: 'Suspended', deleting: false, hasLiveStages: false })).toBe(false);
  expect(holdsSlot({ phase: 'Repairing', deleting: true, hasLiveStages: false })).toBe(false);
  expect(holdsSlot({ phase: 'Publishing', deleting: false, hasLiveStages: false })).toBe(true);
});

test('who stands in line: not finished, suspended or deleted tasks; a NeedsInput task once its spec changed', () => {
  expect(standsInLine(c('x', { phase: 'Failed' }))).toBe(false);
  expect(standsInLine(c('x', { suspend: true }))).toBe(false);
  expect(standsInLine(c('x', { deleting: true }))).toBe(false);
  expect(standsInLine(c('x', { phase: 'NeedsInput', generation: 2, observedGeneration: 2 }))).toBe(false);
  expect(standsInLine(c('x', { phase: 'NeedsInput', generation: 3, observedGeneration: 2 }))).toBe(true);
  expect(standsInLine(c('x', { phase: undefined }))).toBe(true);
});

test('holders keep their slots when the pool shrinks; nobody new is admitted', () => {
  const s = admitSlots([c('a', { phase: 'Coding' }), c('b', { phase: 'Running' }), c('w')], 1);
  expect([...s.byTask.values()]).toEqual([{ admitted: true }, { admitted: true }, { admitted: false, queuePosition: 1 }]);
});
