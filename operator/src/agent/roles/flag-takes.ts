// A local model's flag is put to the test before it is taken: a flag claims the tests contradict the
// goal, and code written from the goal alone that passes them refutes the claim (CodeT's dual
// agreement, one way round). In bench run 13 the 1.5B repair agent flagged HumanEval/68's right
// check `pluck([1, 3, 5, 7]) == []` because its code returned [inf, -1], and the test revision then
// bent the check to the code; outside the loop 2 of 3 samples of that problem pass. So the repair's
// flags are judged by the fresh start's takes (takes.ts), from where a fresh start begins (the base
// and the tests, no code: started beside the wrong code, the takes of run 13 tried to edit the
// tests, 14 turns and 6 minutes a take): the first take the tests pass is kept as the repair's code
// and the flags are dropped; where none passes, the repair's own work and its flags stand, and the
// test agent revises the flagged tests.
import type { AgentContext } from '../context.js';
import type { Engine, EngineRequest } from '../engines/types.js';
import type { Usage } from '../../api/types.js';
import type { Git } from '../git.js';
import type { Transcript } from '../transcript.js';
import type { Session } from './sessions.js';
import { runTakes } from './takes.js';

export interface FlagTakes {
  /** Checks out where the takes start (the base merged with the tests) and returns that commit. */
  freshStart: () => Promise<string>;
  /** The fresh start's code session for this repair's context, given the files it starts with: its request and its takes. */
  session: (files: string[]) => { code: Session; request: EngineRequest };
}

/** What the takes came to: refuted (a take passed the flagged tests and is in the work tree), and every take's usage on top of the repair's. */
export interface FlagVerdict {
  refuted: boolean;
  usage: Usage;
}

/** The context of the code session that judges a repair's flags: a fresh start from the same tests. */
export function flagTakesContext(ctx: AgentContext): AgentContext {
  return { ...ctx, role: 'code', freshStart: true };
}

/**
 * Runs the takes with the repair's work set aside in the stage's own repository, and leaves the work
 * tree as the green take left it (over the fresh start's commit, which is then HEAD, as a fresh
 * start's code stage commits), or as the repair left it over `start` when no take was green.
 */
export async function judgeFlags(engine: Engine, takes: FlagTakes, spent: Usage, git: Git, start: string, flagged: readonly string[], transcript: Transcript): Promise<FlagVerdict> {
  const repairWork = await git.commit(await git.changedPaths(), 'autorun: repair session');
  const from = await takes.freshStart();
  const files = (await git.run(['ls-files', '-z'])).split('\0').filter(Boolean);
  const { code, request } = takes.session(files);
  if (!code.takes) {
    await putBack(git, start, repairWork);
    return { refuted: false, usage: spent };
  }
  transcript.log('flag-takes', { flagged, takes: code.takes.count, from });
  const res = await runTakes(engine, { ...request, spent }, code.takes, git, from, transcript);
  if (res.score?.green) {
    transcript.log('flags-refuted', { flagged, why: 'a take written from the goal passes the tests the repair agent flagged' });
    return { refuted: true, usage: res.usage };
  }
  // No take passed: the tests may well be wrong. The repair's own work goes back, uncommitted.
  await putBack(git, start, repairWork);
  transcript.log('flags-stand', { flagged, ...(res.score ? { best: res.score } : {}) });
  return { refuted: false, usage: res.usage };
}

/** The work tree as the repair left it: its work uncommitted over `start`. */
async function putBack(git: Git, start: string, repairWork: string | undefined): Promise<void> {
  await git.checkout(repairWork ?? start);
  if (repairWork) await git.run(['reset', '--quiet', start]);
}
