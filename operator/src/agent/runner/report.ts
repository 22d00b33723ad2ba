// The full failure report of a run: what the repair agent works from. The run role writes it as JSON
// to AUTORUN_REPORT_PATH and as one transcript line {"event":"failure-report","report":{...}} on
// stdout, where the operator finds it in the Pod log with parseFailureReport().
import type { TestCase } from './types.js';

export interface FailureReport {
  role: 'run' | 'acceptance';
  commit?: string;
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  /** The test that was running when the command was killed, when the runner said. */
  hungTest?: string;
  durationMs: number;
  tests: { passed: number; failed: number; total: number };
  failures: { name: string; message: string; trace: string }[];
  flaky: string[];
  /** The end of the command's output, for failures no report file explains (crashes, timeouts). */
  outputTail: string;
}

export const REPORT_LIMITS = { failures: 50, message: 2000, traceLines: 60, traceChars: 6000, outputTail: 8000 };

/** Keeps the start and end of a long trace: where it was called and where it broke. */
export function trimTrace(trace: string): string {
  let lines = trace.split('\n');
  const n = REPORT_LIMITS.traceLines;
  if (lines.length > n) lines = [...lines.slice(0, n / 2), `[… ${lines.length - n} lines …]`, ...lines.slice(-n / 2)];
  const t = lines.join('\n');
  const c = REPORT_LIMITS.traceChars;
  return t.length > c ? `${t.slice(0, c / 2)}\n[…]\n${t.slice(-c / 2)}` : t;
}

export function buildFailures(failing: TestCase[]): FailureReport['failures'] {
  return failing.slice(0, REPORT_LIMITS.failures).map((c) => ({
    name: c.name,
    message: (c.message ?? '').slice(0, REPORT_LIMITS.message),
    trace: trimTrace(c.trace ?? ''),
  }));
}

export function tail(s: string, n = REPORT_LIMITS.outputTail): string {
  return s.length > n ? `[…]\n${s.slice(-n)}` : s;
}

/**
 * A report as read, its missing parts filled: one written by hand (the real-node test's) or by an
 * older agent may lack some, and renderReport and flaggedChecks read them all.
 */
export function completeReport(r: Partial<FailureReport> & Pick<FailureReport, 'failures'>): FailureReport {
  const failures = r.failures.map((f) => ({ name: String(f?.name ?? ''), message: String(f?.message ?? ''), trace: String(f?.trace ?? '') }));
  return {
    command: '',
    exitCode: null,
    timedOut: false,
    durationMs: 0,
    flaky: [],
    outputTail: '',
    role: 'run',
    ...r,
    tests: { passed: 0, failed: failures.length, total: failures.length, ...r.tests },
    failures,
  };
}

/**
 * What a stage was handed as its failure report: the run role's JSON file (local tier), the run
 * Pod's log holding the report line (cluster), or text that is neither, passed on as it is.
 */
export function readFailureReport(content: string): { report: FailureReport } | { text: string } {
  try {
    const parsed = JSON.parse(content) as Partial<FailureReport> | null;
    if (parsed && Array.isArray(parsed.failures)) return { report: completeReport(parsed as Partial<FailureReport> & Pick<FailureReport, 'failures'>) };
  } catch {
    // not the JSON file: maybe the run Pod's log, or plain text
  }
  const fromLog = parseFailureReport(content);
  return fromLog ? { report: fromLog } : { text: content };
}

/** Finds the failure report in a run stage's log (JSON lines), or undefined. */
export function parseFailureReport(log: string): FailureReport | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (!l.startsWith('{') || !l.includes('"failure-report"')) continue;
    try {
      const v = JSON.parse(l) as { event?: string; report?: Partial<FailureReport> };
      if (v.event === 'failure-report' && Array.isArray(v.report?.failures)) return completeReport(v.report as Partial<FailureReport> & Pick<FailureReport, 'failures'>);
    } catch {
      // a cut line (bounded log read): keep looking
    }
  }
  return undefined;
}

/** The report as text for a prompt. */
export function renderReport(r: FailureReport): string {
  const hung = r.timedOut ? `\nThe tests hung: the command was killed at its timeout${r.hungTest ? ` while ${r.hungTest} was running` : ''}.` : '';
  const head = `Command: ${r.command}\nExit code: ${r.exitCode ?? 'killed'}${r.timedOut ? ' (timed out)' : ''}${hung}\nTests: ${r.tests.passed} passed, ${r.tests.failed} failed, ${r.tests.total} total`;
  const fails = r.failures.map((f) => `### ${f.name}\n${f.message}\n${f.trace}`).join('\n\n');
  const flaky = r.flaky.length ? `\nFlaky (passed on re-run, not to be fixed): ${r.flaky.join(', ')}` : '';
  const out = !r.failures.length || r.timedOut ? `\n\nOutput (end):\n${r.outputTail}` : '';
  return `${head}${flaky}\n\n${fails}${out}`.trim();
}
