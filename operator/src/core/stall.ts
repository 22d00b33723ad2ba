// Stall detection. The loop watches each round's test outcome: the first repair chain ends at its
// first round without progress (a fresh start follows; at its second where the repair defended the
// code by flagging tests), the chain after the fresh start at its second in a row (the task stops). A repair that made nothing better rarely does on the next try,
// and a new attempt from the goal is worth more: self-repair gains over resampling are small, and
// smallest for weak models (Olausson et al., "Is Self-Repair a Silver Bullet for Code Generation?",
// ICLR 2024). On the local 1.5B model, repair fixed none of the HumanEval problems single-shot
// failed, and HumanEval/95's second repair wrote the first one's code again word for word.

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
  /** The round's repair flagged tests as wrong (and the test agent revised them): it judged the code right. */
  defended?: boolean;
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

/** Rounds of one chain (since the last code stage): stalled when the last `window` rounds made no progress. */
export function isStalled(chain: readonly Round[], window: 1 | 2): boolean {
  const n = chain.length;
  if (n < window + 1) return false;
  for (let k = n - window; k < n; k++) if (madeProgress(chain[k - 1] as Round, chain[k] as Round)) return false;
  return true;
}

/**
 * How many rounds in a row without progress end a chain: one before the fresh start, two after it.
 * A round whose repair defended the code (flagged tests) gets two before the fresh start too: a
 * fresh start throws the code away, and that repair judged the tests, not the code, wrong
 * (HumanEval/109, run 7: the first code passed check(), the tests did not, and the fresh start
 * rewrote the code to fit them).
 */
export function stallWindow(freshStarts: number, last?: Round): 1 | 2 {
  return freshStarts === 0 && !last?.defended ? 1 : 2;
}
