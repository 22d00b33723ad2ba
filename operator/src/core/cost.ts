// What a task has spent: model dollars reported by the agents plus GPU time at the pool's price.
// Derived from the stage records every time, so it can never drift from what status.stages shows.
import type { CodingTaskStatus } from '../api/types.js';
import type { StageRecord } from './records.js';

export interface Cost {
  llmUSD: number;
  gpuSeconds: number;
  totalUSD: number;
}

export function costOfRecords(records: readonly StageRecord[], gpuHourUSD: number): Cost {
  let llmUSD = 0;
  let gpuSeconds = 0;
  for (const r of records) {
    llmUSD += Number(r.costUSD ?? 0) || 0;
    gpuSeconds += r.gpuSeconds ?? 0;
  }
  return { llmUSD, gpuSeconds, totalUSD: llmUSD + (gpuSeconds * gpuHourUSD) / 3600 };
}

export function costStatus(cost: Cost): NonNullable<CodingTaskStatus['cost']> {
  return {
    llmUSD: cost.llmUSD.toFixed(4),
    gpuSeconds: cost.gpuSeconds,
    totalUSD: cost.totalUSD.toFixed(4),
    summary: `$${cost.totalUSD.toFixed(2)}`,
  };
}

/** The cost recorded in a status (for shells: metrics, Slack, the local tier's summary line). */
export function costOf(status: CodingTaskStatus): Cost {
  const c = status.cost ?? {};
  return { llmUSD: Number(c.llmUSD ?? 0) || 0, gpuSeconds: c.gpuSeconds ?? 0, totalUSD: Number(c.totalUSD ?? 0) || 0 };
}
