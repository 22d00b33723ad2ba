// The loop's next step, replayed from the stage records alone: iteration by iteration it finds
// what each stage produced, which rounds made progress and where the task stands now. Replaying
// (instead of keeping a cursor in the status) makes the decision a function of durable facts, so
// a restarted operator, the local tier and a second call all reach the same answer.
import type { CodingTaskSpec, Role } from '../api/types.js';
import type { StageContext, StageKey } from './types.js';
import { isFinished, latestAttempt, type StageRecord } from './records.js';
import { isOutage } from './retryable.js';
import { isStalled, stallWindow, type Round } from './stall.js';
import { iterationCapOf, resumesOf } from './limits.js';
import { verdictOf, type Verdict } from './verdict.js';

export type ActivePhase = 'Coding' | 'Running' | 'Repairing' | 'Accepting' | 'Publishing';

export interface WantedStage {
  key: StageKey;
  context: StageContext;
}

export interface WorkStep {
  kind: 'work';
  phase: ActivePhase;
  iteration: number;
  message: string;
  /** Stages that should be live now: those running and those to start. */
  stages: WantedStage[];
  /** A stage that failed waits for its retry until then. */
  retryAt?: string;
  retryNote?: string;
}

export interface DoneStep {
  kind: 'done';
  phase: 'Succeeded' | 'Failed';
  reason: string;
  message: string;
  /** The commit whose tests passed. */
  commit?: string;
  /** The pull request the publish stage opened or updated. */
  pullRequestURL?: string;
}

export type Step = WorkStep | DoneStep;

export interface PlanInput {
  spec: CodingTaskSpec;
  records: readonly StageRecord[];
  maxAttempts: (role: Role) => number;
  now: Date;
  /** Tests a finished repair stage flagged, when its record lacks them (see StageRecord). */
  flaggedOf?: (stageName: string) => string[] | undefined;
}

/** The reason of a task whose acceptance tests passed while its own tests still failed (see lastWord). */
export const OWN_TESTS_OVERRULED = 'OwnTestsOverruled';

export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;

/** When a failed attempt may be retried: 10 s × 2^attempt after it ended, at most 5 minutes. */
export function retryAt(failed: StageRecord): string {
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** failed.attempt);
  return new Date(Date.parse(failed.completionTime ?? failed.startTime ?? '') + delay).toISOString();
}

type Resolution =
  | { s: 'done'; rec: StageRecord }
  | { s: 'want'; stage: WantedStage }
  | { s: 'backoff'; at: string; note: string }
  | { s: 'fail'; step: DoneStep };

const failed = (reason: string, message: string): DoneStep => ({ kind: 'done', phase: 'Failed', reason, message });

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function clean(context: StageContext): StageContext {
  return Object.fromEntries(
    Object.entries(context).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  ) as StageContext;
}

/** A run or acceptance stage killed at spec.test.timeoutSeconds hung; its record names the test when known. */
function hungOf(rec: StageRecord): Pick<Round, 'hung'> {
  return rec.reason === 'TestTimeout' ? { hung: rec.hungTest ? { test: rec.hungTest } : {} } : {};
}

/** What to say of a hang. A hidden test is not named (nothing of it may reach a model). */
function hungWords(h: { test?: string }, hidden: boolean): string {
  const which = h.test && !hidden ? h.test : 'the test command';
  return `${hidden ? 'the hidden acceptance tests hung' : 'the tests hung'}: ${which} was killed at spec.test.timeoutSeconds`;
}

export function plan(p: PlanInput): Step {
  const maxIterations = iterationCapOf(p.spec);
  const resumes = resumesOf(p.spec);
  let forgiven = 0;
  const allowEdit = p.spec.test?.allowRepairToEditTests === true;
  const hasAcceptance = p.spec.test?.acceptance !== undefined;

  /**
   * Where one stage stands. retryFailed: an LLM stage that gave up (outcome Failed) is retried
   * like a crashed Pod, since another sample may well succeed; for run and repair, Failed is a
   * result the loop acts on.
   */
  const resolve = (iteration: number, role: Role, context: StageContext, retryFailed: boolean): Resolution => {
    const rec = latestAttempt(p.records, iteration, role);
    const want = (attempt: number): Resolution => ({ s: 'want', stage: { key: { iteration, role, attempt }, context: clean(context) } });
    if (!rec) return want(0);
    if (!isFinished(rec)) return want(rec.attempt);
    if (rec.state === 'Succeeded' || (rec.state === 'Failed' && !retryFailed)) return { s: 'done', rec };
    const max = p.maxAttempts(role);
    const why = `${rec.reason ?? rec.state}${rec.summary && rec.summary !== rec.reason ? `: ${rec.summary}` : ''}`;
    // Attempts lost to a model outage do not count: only the task's timeout and cost end those.
    const counted = p.records.filter((r) => r.iteration === iteration && r.role === role && !isOutage(r)).length;
    if (!isOutage(rec) && counted >= max) {
      const reason = rec.state === 'Failed' ? 'AgentFailed' : (rec.reason ?? 'StageFailed');
      return { s: 'fail', step: failed(reason, `stage ${rec.name} failed after ${plural(max, 'attempt')} (${why})`) };
    }
    const at = retryAt(rec);
    if (p.now.getTime() < Date.parse(at)) return { s: 'backoff', at, note: `retrying the ${role} stage at ${at} after ${why}` };
    return want(rec.attempt + 1);
  };

  const settle = (rs: Resolution[], phase: WorkStep['phase'], iteration: number, message: string): { step: Step } | { recs: StageRecord[] } => {
    const fail = rs.find((r) => r.s === 'fail');
    if (fail) return { step: fail.step };
    const stages = rs.flatMap((r) => (r.s === 'want' ? [r.stage] : []));
    const backoffs = rs.flatMap((r) => (r.s === 'backoff' ? [r] : [])).sort((a, b) => a.at.localeCompare(b.at));
    if (stages.length === 0 && backoffs.length === 0) return { recs: rs.map((r) => (r as { rec: StageRecord }).rec) };
    const first = backoffs[0];
    return { step: { kind: 'work', phase, iteration, message, stages, ...(first ? { retryAt: first.at, retryNote: first.note } : {}) } };
  };

  const passed = (iteration: number, rec: StageRecord, v: Verdict, codeRef?: string, overruled?: Round): DoneStep => ({
    kind: 'done',
    phase: 'Succeeded',
    reason: overruled ? OWN_TESTS_OVERRULED : rec.role === 'acceptance' ? 'AcceptancePassed' : 'TestsPassed',
    message: overruled
      ? `acceptance tests passed (${v.passed}/${v.total}) in iteration ${iteration} while ${overruled.failed ?? overruled.failing.length} of the agents' own tests still failed (${overruled.failing.join(', ')}): the task author's tests overrule them`
      : `${rec.role === 'acceptance' ? 'acceptance tests' : 'tests'} passed (${v.passed}/${v.total}) in iteration ${iteration}`,
    ...((rec.commit ?? codeRef) ? { commit: rec.commit ?? codeRef } : {}),
  });
  // With spec.repository.pullRequest a publish stage (the only one holding the PR token) opens or
  // updates the pull request before the task succeeds; retried like a crashed Pod when it fails.
  const succeeded = (iteration: number, rec: StageRecord, v: Verdict, codeRef?: string, overruled?: Round): Step => {
    const done = passed(iteration, rec, v, codeRef, overruled);
    if (!p.spec.repository?.pullRequest) return done;
    const pub = settle([resolve(iteration, 'publish', { codeRef: done.commit }, true)], 'Publishing', iteration, `iteration ${iteration}: ${done.message}; opening the pull request`);
    if ('step' in pub) return pub.step;
    const url = pub.recs[0]?.pullRequestURL;
    return { ...done, message: `${done.message}; pull request ${url ?? '(no URL reported)'}`, ...(url ? { pullRequestURL: url } : {}) };
  };

  let codeRef: string | undefined;
  let testsRef: string | undefined;

  /**
   * A task about to fail because the agents' own tests still fail gets its code judged by the
   * author's hidden acceptance tests first, when it has them: they define done, and the agents'
   * tests are the agents' guess at it. On the local model the test agent's guesses were wrong in
   * two of six HumanEval tasks (a computed (-1, 1) where the goal gives None; move_one_ball([5, 4,
   * 3, 2, 1]) == True) and vetoed code that passed check(). The code judged is the latest, the one
   * the task branch holds, and nothing of the hidden tests reaches a model: the task ends either way.
   */
  const lastWord = (i: number, round: Round, fail: DoneStep): Step => {
    if (!hasAcceptance || round.level !== 0 || !codeRef) return fail;
    const acc = settle([resolve(i, 'acceptance', { codeRef, testsRef }, false)], 'Accepting', i, `iteration ${i}: ${fail.message}; the acceptance tests judge the code before the task fails`);
    if ('step' in acc) return acc.step;
    const rec = acc.recs[0] as StageRecord;
    const av = verdictOf(rec);
    if (av.pass) return succeeded(i, rec, av, codeRef, round);
    return { ...fail, message: `${fail.message}; the acceptance tests fail on that code too (${av.passed}/${av.total} passed)` };
  };
  let chain: Round[] = [];
  let repairSummaries: string[] = [];
  const flagged: string[] = [];
  let freshStarts = 0;
  let kind: 'initial' | 'fresh' | 'repair' = 'initial';

  for (let i = 1; ; i++) {
    let round: Round | undefined;
    // This round's repair flagged tests as wrong: it judged the code right.
    let defended = false;
    if (kind !== 'repair') {
      // Code and test agents both work from the goal alone (AgentCoder); a fresh start rewrites
      // the code from the goal and the existing tests.
      const rs = [resolve(i, 'code', kind === 'fresh' ? { freshStart: true, testsRef, guidance: p.spec.guidance } : {}, true)];
      if (kind === 'initial') rs.push(resolve(i, 'test', {}, true));
      const message =
        kind === 'initial'
          ? `iteration ${i}: the code and test agents work from the goal`
          : `iteration ${i}: fresh start, the code agent rewrites the code from the goal and the tests`;
      const g = settle(rs, 'Coding', i, message);
      if ('step' in g) return g.step;
      codeRef = g.recs[0]?.commit ?? codeRef;
      if (kind === 'initial') testsRef = g.recs[1]?.commit ?? testsRef;
    } else {
      const last = chain[chain.length - 1] as Round;
      // Hidden acceptance tests are never shown to a model: repair learns how many failed and the
      // author's hint, not their names (the report the shells hand over is withheld too).
      const hidden = last.level === 1;
      const hint = p.spec.test?.acceptance?.hint;
      const failedCount = last.failed ?? last.failing.length;
      const context: StageContext = {
        codeRef,
        testsRef,
        ...(hidden ? { hiddenFailures: { failed: failedCount, ...(hint ? { hint } : {}) } } : { failing: last.failing }),
        ...(last.hung ? { testsHung: hidden ? {} : last.hung } : {}),
        previousAttempts: [...repairSummaries],
        flaggedTests: [...flagged],
        ...(p.spec.guidance?.length ? { guidance: p.spec.guidance } : {}),
      };
      const what = last.hung ? hungWords(last.hung, hidden) : hidden ? plural(failedCount, 'failing hidden acceptance test') : plural(last.failing.length, 'failing test');
      const g = settle([resolve(i, 'repair', context, false)], 'Repairing', i, `iteration ${i}: repairing ${what}`);
      if ('step' in g) return g.step;
      const rep = g.recs[0] as StageRecord;
      repairSummaries.push(rep.summary ?? `${rep.name}: ${rep.state}`);
      if (rep.state !== 'Succeeded') {
        // The repair agent gave up (turn cap, no idea): the code did not change, so the round
        // counts as one without progress instead of re-running the same tests.
        round = { ...last, iteration: i, gaveUp: true };
        delete round.defended;
      } else {
        codeRef = rep.commit ?? codeRef;
        if (allowEdit) testsRef = rep.commit ?? testsRef;
        const flags = rep.flaggedTests ?? p.flaggedOf?.(rep.name) ?? [];
        defended = flags.length > 0;
        for (const t of flags) if (!flagged.includes(t)) flagged.push(t);
        if (flags.length > 0 && !allowEdit) {
          const t = settle(
            [resolve(i, 'test', { testsRef, flaggedTests: flags }, true)],
            'Repairing',
            i,
            `iteration ${i}: the test agent revises ${plural(flags.length, 'flagged test')}`,
          );
          if ('step' in t) return t.step;
          testsRef = t.recs[0]?.commit ?? testsRef;
        }
      }
    }

    if (!round) {
      const run = settle([resolve(i, 'run', { codeRef, testsRef }, false)], 'Running', i, `iteration ${i}: running the tests`);
      if ('step' in run) return run.step;
      const runRec = run.recs[0] as StageRecord;
      const v = verdictOf(runRec);
      if (v.pass && !hasAcceptance) return succeeded(i, runRec, v, codeRef);
      if (v.pass) {
        const acc = settle([resolve(i, 'acceptance', { codeRef, testsRef }, false)], 'Accepting', i, `iteration ${i}: running the acceptance tests`);
        if ('step' in acc) return acc.step;
        const accRec = acc.recs[0] as StageRecord;
        const av = verdictOf(accRec);
        if (av.pass) return succeeded(i, accRec, av, codeRef);
        round = { iteration: i, level: 1, passed: av.passed, failing: av.failing, failed: av.failed, ...hungOf(accRec) };
      } else {
        round = { iteration: i, level: 0, passed: v.passed, failing: v.failing, ...hungOf(runRec) };
      }
      if (defended) round.defended = true;
    }

    chain.push(round);
    const stalled = isStalled(chain, stallWindow(freshStarts, round));
    if (stalled && freshStarts >= 1 && forgiven < resumes) {
      // A person resumed the task after this stall (escalation): carry on repairing from here.
      forgiven++;
      chain = [round];
      kind = 'repair';
    } else if (stalled) {
      if (freshStarts >= 1) {
        return lastWord(i, round, failed('Stalled', `no progress in two repair rounds in a row after a fresh start (iteration ${i}, ${round.hung ? hungWords(round.hung, round.level === 1) : plural(round.failing.length, 'failing test')})`));
      }
      freshStarts++;
      chain = [];
      repairSummaries = [];
      kind = 'fresh';
    } else {
      kind = 'repair';
    }
    if (i + 1 > maxIterations) {
      const left = round.hung ? `the tests still hang: ${hungWords(round.hung, round.level === 1)}` : `${plural(round.failing.length, 'test')} still failing`;
      const granted = maxIterations - (p.spec.limits?.maxIterations ?? maxIterations);
      const cap = granted > 0 ? `spec.limits.maxIterations plus the granted iterations (${maxIterations})` : `spec.limits.maxIterations (${maxIterations})`;
      return lastWord(i, round, failed('MaxIterations', `iteration ${i + 1} would exceed ${cap}; ${left}`));
    }
  }
}
