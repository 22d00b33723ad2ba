// A stage done as independent takes, the best kept: each take starts from the same commit, is
// sampled with its own seed, and is judged by the tests the stage was handed; the first whose tests
// all pass ends it, else the one that passed most is kept. This is how a small local model's fresh
// start uses the loop's own tests (sample-and-filter, as CodeT and AlphaCode do). Its samples differ
// (bench notes in the README: 2 of 3 passed HumanEval/68 and /95 under the retake's prompt), but told
// what failed inside one session, the 1.5B model wrote the same code again (bench runs 9 and 11).
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, EngineRequest, EngineResult } from '../engines/types.js';
import type { Git } from '../git.js';
import type { Transcript } from '../transcript.js';

/** How one take's code fared under the handed tests. */
export interface TakeScore {
  passed: number;
  failed: number;
  /** The test command exited 0. */
  green: boolean;
}

/** Whether take a did better than b: green first, then more tests passed, then fewer failed. */
export function betterTake(a: TakeScore, b: TakeScore): boolean {
  if (a.green !== b.green) return a.green;
  if (a.passed !== b.passed) return a.passed > b.passed;
  return a.failed < b.failed;
}

export interface Takes {
  count: number;
  /** Runs the handed tests on the workspace as the take left it. */
  judge: () => Promise<TakeScore>;
  /** The paths a take may change; the rest are put back before it is judged, by the tests it was handed. */
  owns: (path: string) => boolean;
}

const judgedAfter = async (): Promise<undefined> => undefined;

/**
 * Turns a take gets at most. HumanEval/68's green take wrote and finished in 6 (bench run 13); a take
 * of /95 in that run spent 10 turns, 5 minutes, running a solution.py it had not written and writing
 * data files, and would have had the stage's 50. A take that wanders is judged as it stands and the
 * next one sampled: sample-and-filter wants many short tries, not one long one.
 */
export const TAKE_MAX_TURNS = 12;

interface Kept {
  commit: string;
  score: TakeScore;
  result: EngineResult;
}

/**
 * Runs the engine take by take from `start` (checked out) and leaves the workspace as the best take
 * left it, uncommitted, as one session would. The result is the kept take's, with every take's usage
 * and its score; where no take finished, the last one's, unscored.
 */
export async function runTakes(engine: Engine, req: EngineRequest, takes: Takes, git: Git, start: string, transcript: Transcript): Promise<EngineResult & { score?: TakeScore }> {
  let best: Kept | undefined;
  let res: EngineResult | undefined;
  for (let take = 0; take < takes.count; take++) {
    if (take > 0) await git.checkout(start);
    // Worked from the goal alone: what the take does not own (the tests) is off disk until it is judged.
    const hidden = (await git.run(['ls-files', '-z'])).split('\0').filter((p) => p && !takes.owns(p));
    for (const p of hidden) rmSync(join(req.workspace, p), { force: true });
    // The take is judged once it ends, so the loop does not also refuse its finished after the
    // model's own failing test run: in bench run 12 HumanEval/95's second take was refused three
    // times for that and spent 15 minutes (its first took 90 s) before the judge saw it.
    const model = { ...req.model, maxTurns: Math.min(req.model.maxTurns, TAKE_MAX_TURNS) };
    res = await engine({ ...req, model, take, unfinished: req.unfinished ?? judgedAfter, ...(res ? { spent: res.usage } : {}) });
    // Out of turns, a take is judged by what it wrote, as one that finished.
    if (res.outcome !== 'Succeeded' && res.reason === 'TurnCap') {
      const { reason: _capped, ...rest } = res;
      res = { ...rest, outcome: 'Succeeded', summary: `take ${take + 1}: ${res.summary}` };
    }
    // A failed session (the budget, the model's errors) ends the takes: an earlier take's code stands.
    if (res.outcome !== 'Succeeded') break;
    // The handed tests judge, as the run stage will, whatever a take's shell did to them (HumanEval/68's
    // first flag take in bench run 13 ran `rm tests/test_solution.py`).
    const foreign = (await git.changedPaths()).filter((p) => !takes.owns(p));
    const touched = foreign.filter((p) => !hidden.includes(p) || existsSync(join(req.workspace, p)));
    await git.discard(foreign);
    if (touched.length) transcript.log('take-put-back', { take, paths: touched, why: 'not the take\'s to change' });
    const score = await takes.judge();
    const kept = !best || betterTake(score, best.score);
    transcript.log('take', { take, of: takes.count, ...score, kept });
    if (score.green) return { ...res, score };
    if (!kept) continue;
    // Kept in the stage's own repository, which the model's commands cannot reach (git.ts).
    const commit = await git.commit(await git.changedPaths(), `autorun: take ${take + 1}`);
    best = commit ? { commit, score, result: res } : best;
  }
  if (!res) throw new Error('runTakes: no take ran');
  if (!best) return res;
  // The work tree as the best take left it, over the commit the stage started from.
  await git.checkout(best.commit);
  await git.run(['reset', '--quiet', start]);
  transcript.log('take-kept', { commit: best.commit, ...best.score });
  return { ...best.result, usage: res.usage, score: best.score };
}
