// What the task report shows, worked out from a task's status (the same in the cluster and in the
// local tier) and the failure report each repair was given. Pure: no I/O, no clock of its own.
import { ROLES } from '../../contract/roles.js';
import type { CodingTask, Role, StageStatus } from '../../api/types.js';
import { redactTokenShapes } from '../../util/secrets.js';

export interface ReportInput {
  task: CodingTask;
  /** Where it came from, for the page's header: "namespace team-a" or "state dir .autorun". */
  origin: string;
  /** The failure report text each repair got, by the repair's iteration. */
  repairInputs: ReadonlyMap<number, string>;
  now: Date;
}

export interface StageBar {
  name: string;
  role: Role;
  iteration: number;
  attempt: number;
  state: string;
  reason?: string;
  summary?: string;
  /** Milliseconds from the report's start. */
  from: number;
  to: number;
  /** Still running when the report was made: the bar ends at "now". */
  open: boolean;
  costUSD: number;
  gpuSeconds: number;
  tests?: { passed: number; failed: number; total: number };
}

export interface IterationTests {
  iteration: number;
  passed: number;
  failed: number;
  total: number;
  /** Which stage counted them: run, or acceptance for the hidden tests. */
  role: 'run' | 'acceptance';
}

export interface RoleCost {
  role: Role;
  stages: number;
  costUSD: number;
  gpuSeconds: number;
  seconds: number;
}

export interface Failure {
  name: string;
  message: string;
  /** The end of its trace, where it broke. */
  trace?: string;
}

export interface RepairInput {
  iteration: number;
  stage?: string;
  outcome?: string;
  summary?: string;
  /** What the run before it reported: counts, failing tests with their messages, or the raw text. */
  tests?: { passed: number; failed: number; total: number };
  failures: Failure[];
  failing: string[];
  command?: string;
  raw?: string;
}

export interface ReportModel {
  name: string;
  namespace?: string;
  origin: string;
  goal: string;
  language?: string;
  phase: string;
  reason?: string;
  message?: string;
  iteration: number;
  testsSummary?: string;
  cost: { llmUSD: number; gpuSeconds: number; totalUSD: number };
  result?: { branch?: string; commit?: string; pullRequestURL?: string };
  startedAt?: string;
  completedAt?: string;
  generatedAt: string;
  /** Milliseconds the timeline spans. */
  span: number;
  stages: StageBar[];
  tests: IterationTests[];
  costByRole: RoleCost[];
  repairs: RepairInput[];
}

const num = (v: string | undefined): number => (Number.isFinite(Number(v)) ? Number(v ?? 0) : 0);
const ms = (t: string | undefined): number | undefined => (t && Number.isFinite(Date.parse(t)) ? Date.parse(t) : undefined);
const MAX_FAILURES = 10;
const MAX_MESSAGE = 600;
const MAX_RAW = 4000;
const MAX_TRACE = 1500;

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The run agent's FailureReport JSON, or anything else as raw text. */
function parseFailureReport(text: string): Pick<RepairInput, 'tests' | 'failures' | 'command' | 'raw'> {
  try {
    const r = JSON.parse(text) as { command?: string; tests?: { passed: number; failed: number; total: number }; failures?: Array<{ name?: string; message?: string; trace?: string }> };
    if (r && typeof r === 'object' && Array.isArray(r.failures)) {
      return {
        command: typeof r.command === 'string' ? r.command : undefined,
        tests: r.tests,
        failures: r.failures.slice(0, MAX_FAILURES).map((f) => ({
          name: String(f.name ?? ''),
          message: clip(redactTokenShapes(String(f.message ?? '')), MAX_MESSAGE),
          ...(f.trace ? { trace: redactTokenShapes(String(f.trace).slice(-MAX_TRACE)) } : {}),
        })),
      };
    }
  } catch {
    // Not JSON: the operator's own note, or a plain log.
  }
  return { failures: [], raw: clip(redactTokenShapes(text), MAX_RAW) };
}

/** The failed test run each repair stage was given: the latest failed run or acceptance before it. */
export function repairedRuns(stages: readonly StageStatus[]): Map<number, StageStatus> {
  const out = new Map<number, StageStatus>();
  for (const r of stages.filter((s) => s.role === 'repair')) {
    const failed = stages
      .filter((s) => (s.role === 'run' || s.role === 'acceptance') && s.iteration < r.iteration && s.state === 'Failed')
      .sort((a, b) => (a.completionTime ?? '').localeCompare(b.completionTime ?? ''))
      .at(-1);
    if (failed) out.set(r.iteration, failed);
  }
  return out;
}

export function buildReport(input: ReportInput): ReportModel {
  const { task, now } = input;
  const status = task.status ?? {};
  const stages = [...(status.stages ?? [])].sort((a, b) => (ms(a.startTime) ?? 0) - (ms(b.startTime) ?? 0) || a.iteration - b.iteration || ROLES.indexOf(a.role) - ROLES.indexOf(b.role));
  const starts = stages.map((s) => ms(s.startTime)).filter((t): t is number => t !== undefined);
  const origin = Math.min(...starts, ms(status.startTime) ?? Infinity);
  const t0 = Number.isFinite(origin) ? origin : now.getTime();
  const bars: StageBar[] = stages.map((s) => {
    const from = (ms(s.startTime) ?? t0) - t0;
    const done = ms(s.completionTime);
    const open = done === undefined && (s.state === 'Running' || s.state === 'Pending');
    const to = (done ?? (open ? now.getTime() : (ms(s.startTime) ?? t0))) - t0;
    return {
      name: s.name,
      role: s.role,
      iteration: s.iteration,
      attempt: s.attempt,
      state: s.state ?? 'Pending',
      reason: s.reason,
      summary: s.summary ? redactTokenShapes(s.summary) : undefined,
      from,
      to: Math.max(to, from),
      open,
      costUSD: num(s.costUSD),
      gpuSeconds: s.gpuSeconds ?? 0,
      tests: s.tests?.total !== undefined ? { passed: s.tests.passed ?? 0, failed: s.tests.failed ?? 0, total: s.tests.total } : undefined,
    };
  });
  const span = Math.max(1000, ...bars.map((b) => b.to));

  const tests: IterationTests[] = [];
  for (const role of ['run', 'acceptance'] as const) {
    const byIteration = new Map<number, StageStatus>();
    for (const s of stages) if (s.role === role && s.tests?.total !== undefined) byIteration.set(s.iteration, s);
    for (const [iteration, s] of byIteration) tests.push({ iteration, role, passed: s.tests!.passed ?? 0, failed: s.tests!.failed ?? 0, total: s.tests!.total ?? 0 });
  }
  tests.sort((a, b) => a.iteration - b.iteration || (a.role === 'run' ? -1 : 1));

  const costByRole: RoleCost[] = ROLES.map((role) => {
    const of = bars.filter((b) => b.role === role);
    return { role, stages: of.length, costUSD: of.reduce((a, b) => a + b.costUSD, 0), gpuSeconds: of.reduce((a, b) => a + b.gpuSeconds, 0), seconds: of.reduce((a, b) => a + (b.to - b.from) / 1000, 0) };
  }).filter((r) => r.stages > 0);

  const repaired = repairedRuns(stages);
  const repairs: RepairInput[] = stages
    .filter((s) => s.role === 'repair')
    .map((s) => {
      const failed = repaired.get(s.iteration);
      const text = input.repairInputs.get(s.iteration);
      const parsed = text !== undefined ? parseFailureReport(text) : { failures: [] };
      return {
        iteration: s.iteration,
        stage: s.name,
        outcome: s.state,
        summary: s.summary ? redactTokenShapes(s.summary) : undefined,
        failing: failed?.tests?.failing ?? [],
        ...parsed,
        tests: parsed.tests ?? (failed?.tests?.total !== undefined ? { passed: failed.tests.passed ?? 0, failed: failed.tests.failed ?? 0, total: failed.tests.total } : undefined),
      };
    });

  return {
    name: task.metadata.name,
    namespace: task.metadata.namespace,
    origin: input.origin,
    goal: task.spec.goal,
    language: task.spec.language,
    phase: status.phase ?? 'Pending',
    reason: status.reason,
    message: status.message ? redactTokenShapes(status.message) : undefined,
    iteration: status.iteration ?? 0,
    testsSummary: status.tests?.summary,
    cost: { llmUSD: num(status.cost?.llmUSD), gpuSeconds: status.cost?.gpuSeconds ?? 0, totalUSD: num(status.cost?.totalUSD) },
    result: status.result,
    startedAt: status.startTime,
    completedAt: status.completionTime,
    generatedAt: now.toISOString(),
    span,
    stages: bars,
    tests,
    costByRole,
    repairs,
  };
}
