import { costOf, costOfRecords, costStatus } from '../../../operator/src/core/cost.js';
import type { StageRecord } from '../../../operator/src/core/records.js';

const r = (costUSD?: string, gpuSeconds?: number): StageRecord => ({ name: 'x', iteration: 1, role: 'run', attempt: 0, costUSD, gpuSeconds });

describe('cost', () => {
  test('model dollars plus GPU-seconds at the pool price', () => {
    const c = costOfRecords([r('0.123456'), r('0.2', 0), r(undefined, 1800)], 0.8);
    expect(c.llmUSD).toBeCloseTo(0.323456, 9);
    expect(c.gpuSeconds).toBe(1800);
    expect(c.totalUSD).toBeCloseTo(0.723456, 9);
    expect(costStatus(c)).toEqual({ llmUSD: '0.3235', gpuSeconds: 1800, totalUSD: '0.7235', summary: '$0.72' });
  });

  test('reads back from a status', () => {
    expect(costOf({ cost: { llmUSD: '0.3235', gpuSeconds: 1800, totalUSD: '0.7235' } })).toEqual({ llmUSD: 0.3235, gpuSeconds: 1800, totalUSD: 0.7235 });
    expect(costOf({})).toEqual({ llmUSD: 0, gpuSeconds: 0, totalUSD: 0 });
  });
});
