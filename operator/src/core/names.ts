// Deterministic child names make every create idempotent: the same stage always has the same name,
// so a restarted operator finds its Pods instead of starting stages twice.
//
// A task's name may be any DNS subdomain (up to 253 characters); its stage names must stay within 63
// (they are Pod names, and Pod hostnames). Names up to NAME_PREFIX_MAX are used as they are, which
// keeps every name the operator ever gave unchanged; a longer one is cut and suffixed with a hash of
// the whole name, so two long names that share a beginning still get different stages.
import { createHash } from 'node:crypto';
import type { StageKey } from './types.js';

/** Longest task name used verbatim in child names: 40 + "-i20-acceptance-a9" (18) fits in 63. */
export const NAME_PREFIX_MAX = 40;
const HASH_CHARS = 10;

/**
 * name if it has at most max characters, else its first characters and a hash of all of it, max in
 * all. The cut never ends in '-' or '.', so what follows it ('-…', '.…') keeps the name valid.
 */
export function shortName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_CHARS);
  const head = name.slice(0, max - HASH_CHARS - 1).replace(/[-.]+$/, '');
  return head ? `${head}-${hash}` : hash;
}

/** What every child name of the task starts with: the task's name, shortened when it is long. */
export function namePrefix(task: string): string {
  return shortName(task, NAME_PREFIX_MAX);
}

/** e.g. fizzbuzz-i2-repair-a0; at most 58 characters (iteration ≤ 20, attempt < 10). */
export function stageName(task: string, key: StageKey): string {
  return `${namePrefix(task)}-i${key.iteration}-${key.role}-a${key.attempt}`;
}

export function parseStageName(task: string, name: string): StageKey | undefined {
  const prefix = namePrefix(task);
  const m = /^-i(\d+)-(code|test|run|repair|acceptance)-a(\d+)$/.exec(name.slice(prefix.length));
  if (!name.startsWith(prefix) || !m) return undefined;
  return { iteration: Number(m[1]), role: m[2] as StageKey['role'], attempt: Number(m[3]) };
}
