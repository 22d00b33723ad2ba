// Stall detection. Repair gains fade after two or three rounds, so the loop watches each round's
// test outcome and gives up on a repair chain that made no progress twice in a row.

/** The test outcome of one loop iteration. */
export interface Round {
  iteration: number;
  /** How far the code got: 0 = its own tests fail, 1 = its tests pass but acceptance fails. */
  level: 0 | 1;
  passed: number;
  failing: string[];
  /** How many failed (the names may be truncated). */
  failed?: number;
  /** The test command was killed at its timeout; test: the one running then, when known. */
  hung?: { test?: string };
  /** The repair agent gave up (outcome Failed): the code did not change. */
  gaveUp?: boolean;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/**
 * Did `cur` improve on `prev`? Reaching the next level (acceptance) is progress; within a level
 * the failing set must change and more tests must pass. Different levels run different suites, so
 * their counts are not compared.
 */
export function madeProgress(prev: Round, cur: Round): boolean {
  if (cur.gaveUp) return false;
  if (cur.level !== prev.level) return cur.level > prev.level;
  return !sameSet(prev.failing, cur.failing) && cur.passed > prev.passed;
}

/** Rounds of one chain (since the last code stage): stalled when the last two made no progress. */
export function isStalled(chain: readonly Round[]): boolean {
  const n = chain.length;
  if (n < 3) return false;
  return !madeProgress(chain[n - 3] as Round, chain[n - 2] as Round) && !madeProgress(chain[n - 2] as Round, chain[n - 1] as Round);
}
