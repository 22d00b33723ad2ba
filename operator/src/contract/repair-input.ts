// Which failed test run a repair stage is handed the report of, in both shells: the latest one, by
// iteration, then by when it finished, then by attempt (a retried run of the same iteration that
// finished last is the one whose failures are current). The operator copies its log into the
// repair Pod's ConfigMap, the local tier hands its report file over.
//
// Settled: the local tier looked at run stages only and by finish time alone, the operator at run
// and acceptance stages by iteration first. Iteration first is right (a clock step cannot put an
// older iteration's report in front of the newer one), and acceptance counts: when the hidden tests
// failed last, the repair gets no report at all rather than an older run's stale one.
import type { Role, StageResult } from '../api/types.js';
import type { StageContext } from '../core/types.js';

export interface FinishedRun {
  role: Role;
  state: string;
  iteration: number;
  attempt: number;
  finishTime?: string;
  result?: Pick<StageResult, 'outcome'>;
}

/** The failed run or acceptance stage a repair works from, or undefined when none failed. */
export function failedRunForRepair<T extends FinishedRun>(stages: readonly T[]): T | undefined {
  const time = (s: T): number => {
    const t = Date.parse(s.finishTime ?? '');
    return Number.isNaN(t) ? 0 : t;
  };
  return stages
    .filter((s) => (s.role === 'run' || s.role === 'acceptance') && s.state === 'Finished' && s.result?.outcome === 'Failed')
    .sort((x, y) => x.iteration - y.iteration || time(x) - time(y) || x.attempt - y.attempt)
    .at(-1);
}

/** Is the report of this run one that may be shown to a repair agent? Never that of the hidden tests. */
export function reportMayBeShown(run: FinishedRun): boolean {
  return run.role === 'run';
}

/**
 * Which stages are handed that report: repair, and the test stage revising the tests repair
 * flagged (it is shown where each flagged test failed, its own assert line, so that it changes that
 * check: HumanEval/109's revisions kept the flagged move_one_ball([5, 4, 3, 2, 1]) == True twice).
 * None after hidden acceptance tests failed: nothing of them may reach a model.
 */
export function receivesFailureReport(role: Role, context: Pick<StageContext, 'hiddenFailures' | 'flaggedTests'>): boolean {
  if (context.hiddenFailures) return false;
  return role === 'repair' || (role === 'test' && (context.flaggedTests?.length ?? 0) > 0);
}
