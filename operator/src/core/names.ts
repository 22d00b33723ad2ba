// Deterministic child names make every create idempotent: the same stage always has the same name,
// so a restarted operator finds its Pods instead of starting stages twice.
import type { StageKey } from './types.js';

/** Longest task name: the CRD enforces it so that stageName() stays within 63 characters. */
export const MAX_TASK_NAME = 40;

/** e.g. fizzbuzz-i2-repair-a0; at most 40 + 23 = 63 characters (iteration < 100, attempt < 10). */
export function stageName(task: string, key: StageKey): string {
  return `${task}-i${key.iteration}-${key.role}-a${key.attempt}`;
}

export function parseStageName(task: string, name: string): StageKey | undefined {
  const m = /^-i(\d+)-(code|test|run|repair|acceptance)-a(\d+)$/.exec(name.slice(task.length));
  if (!name.startsWith(task) || !m) return undefined;
  return { iteration: Number(m[1]), role: m[2] as StageKey['role'], attempt: Number(m[3]) };
}
