// A code change is checked by running the tests before the model may call it finished: repair's
// always, a fresh start's code (the tests are in its workspace then). HumanEval/68's 1.5B repair
// agent changed float('inf') to float('None') and called finished without running anything; the run
// stage then found the code broken, and the iteration was spent. HumanEval/95's fresh start wrote the
// very code that had failed and finished at once (bench run 9). Run here, the same command through
// the same sandboxed run_command, the failure goes back to the model in the stage it caused.
import type { AgentContext } from '../context.js';
import type { FailureReport } from '../runner/report.js';
import { COMMAND_MAX_TIMEOUT_S } from '../tools/command-tools.js';
import type { ToolSpec } from '../tools/types.js';
import { parseTextSummary } from '../runner/text-summary.js';
import { failingCheck } from './pytest-trace.js';
import { worseThanHanded } from './regression.js';
import type { HandedCode } from './handed-code.js';
import type { TakeScore } from './takes.js';

/** The command a role runs the tests with when the task names none: what TEST_LAYOUT tells the agents. */
const DEFAULT_TEST_COMMAND: Record<AgentContext['language'], string | undefined> = {
  python: 'python -m pytest -q -p no:cacheprovider',
  javascript: 'npm test --silent',
  typescript: 'npm test --silent',
  go: 'go test ./...',
  other: undefined,
};

/** Most characters of the failing run's output shown with the refusal (its end: pytest's summary). */
const OUTPUT_SHOWN = 2500;
/** Most characters of restored code shown with an undo: a small model's file, not a project. */
const CODE_SHOWN = 6000;

export const REPAIR_ADVICE = 'Fix the implementation; flag a test only where what it expects contradicts the goal.';
export const CODE_ADVICE = 'Fix the implementation: the tests are not yours to change.';

export function testCommandOf(ctx: Pick<AgentContext, 'language' | 'test'>): string | undefined {
  return ctx.test.command ?? DEFAULT_TEST_COMMAND[ctx.language];
}

export interface FinishCheck {
  /** What the model is told to do about the failing run. */
  advice: string;
  /** Repair's flags: a flag answers the failing run, so nothing is run once there is one. */
  flagged?: ReadonlyMap<string, string>;
  /**
   * Keeps the latest run's output, which a flag that follows is judged by (flag-refusal.ts), cleared
   * by an undo; failed says that a check has refused the session's finished.
   */
  latest?: FinishState;
  /** Repair: the failure it was handed and the code as handed, to undo a change that made it worse. */
  guard?: { report: FailureReport; handed: HandedCode };
}

/** The handed failures, each by where it failed: what an undo leaves to fix. */
function stillFailing(report: FailureReport): string {
  return report.failures
    .slice(0, 3)
    .map((f) => {
      const at = failingCheck(f.trace);
      const where = at ? ` at ${at.path}:${at.line}${at.check ? ` (\`${at.check}\`)` : ''}` : '';
      return `${f.name}${where}${f.message ? `: ${f.message.split('\n')[0]}` : ''}`;
    })
    .join('; ');
}

async function undone(worse: string, restored: string[], handed: HandedCode, report: FailureReport): Promise<string> {
  const code = (await Promise.all(restored.map(async (f) => `${f}:\n\`\`\`\n${(await handed.content(f)) ?? ''}\n\`\`\``))).join('\n');
  const shown = code.length <= CODE_SHOWN ? `\n${code}\n` : ' ';
  return `your change made it worse: ${worse}. It is undone: ${restored.join(', ')} ${restored.length === 1 ? 'is' : 'are'} back as you were handed ${restored.length === 1 ? 'it' : 'them'}:${shown}Still to fix: ${stillFailing(report)}. Make a different change, one that fixes that and keeps what passes.`;
}

export interface FinishState {
  output?: string;
  failed?: boolean;
}

type Guard = NonNullable<FinishCheck['guard']>;

interface TestRun {
  passed: boolean;
  /** run_command's first line: the exit code. */
  head: string;
  output: string;
}

async function runTestCommand(ctx: Pick<AgentContext, 'test'>, command: string, runCommand: ToolSpec): Promise<TestRun> {
  const out = await runCommand.run({ command, timeout_seconds: Math.min(ctx.test.timeoutSeconds, COMMAND_MAX_TIMEOUT_S) });
  const [head = '', ...rest] = out.split('\n');
  return { passed: /^exit code 0\b/.test(head), head, output: rest.join('\n').trim() };
}

/** Runs the tests: undefined when they pass; else the run's first line and output. */
async function runTests(ctx: Pick<AgentContext, 'test'>, command: string, runCommand: ToolSpec): Promise<TestRun | undefined> {
  const run = await runTestCommand(ctx, command, runCommand);
  return run.passed ? undefined : run;
}

/**
 * How the code in the workspace fares under the tests: a take's score (takes.ts). Counts come from
 * the runner's closing line; a run that says none (an import error before any test ran) passed none.
 */
export function testScore(ctx: Pick<AgentContext, 'language' | 'test'>, runCommand: ToolSpec): (() => Promise<TakeScore>) | undefined {
  const command = testCommandOf(ctx);
  if (!command) return undefined;
  return async () => {
    const run = await runTestCommand(ctx, command, runCommand);
    const counts = parseTextSummary(run.output)?.counts;
    const passed = counts?.passed ?? 0;
    return run.passed ? { green: true, passed, failed: 0 } : { green: false, passed, failed: Math.max(1, counts?.failed ?? 0) };
  };
}

/** What made it worse, with the code put back; undefined when it is not worse or nothing was put back. */
async function undoIfWorse(guard: Guard, output: string): Promise<{ worse: string; restored: string[] } | undefined> {
  const worse = worseThanHanded(guard.report, output);
  if (!worse) return undefined;
  const restored = await guard.handed.restore();
  return restored.length ? { worse, restored } : undefined;
}

/**
 * Why the session is not done yet: the tests fail after its change. Undefined when they pass, once a
 * test is flagged, and where there is no command to run (none is made).
 */
export function failingAfterChange(ctx: Pick<AgentContext, 'language' | 'test'>, runCommand: ToolSpec, check: FinishCheck): (() => Promise<string | undefined>) | undefined {
  const command = testCommandOf(ctx);
  // No command to run: the loop's own rule (the model's last test run) is all there is.
  if (!command) return undefined;
  const { flagged, latest = {}, guard } = check;
  return async () => {
    if (flagged?.size) return undefined;
    const failed = await runTests(ctx, command, runCommand);
    latest.output = failed?.output ?? '';
    if (!failed) return undefined;
    latest.failed = true;
    const { head, output } = failed;
    const undo = guard && (await undoIfWorse(guard, output));
    if (guard && undo) {
      // The code is the handed code again: flags are judged by the handed report.
      delete latest.output;
      return undone(undo.worse, undo.restored, guard.handed, guard.report);
    }
    const shown = output.length > OUTPUT_SHOWN ? `[…]\n${output.slice(-OUTPUT_SHOWN)}` : output;
    return `the tests fail after your change (\`${command}\`: ${head}):\n${shown}\n${check.advice}`;
  };
}

/**
 * Once the model is done, when a check refused its finished (it is taken after three refusals): a
 * change that leaves the handed failure worse is undone before it is committed. HumanEval/95's
 * repair (run 11) wrote the edit that was undone once again, word for word, and its last finished
 * was taken. A session whose finished no check refused ran the tests green or never asked: nothing
 * to run again.
 */
export async function undoWorseAtEnd(ctx: Pick<AgentContext, 'language' | 'test'>, runCommand: ToolSpec, guard: Guard, flagged: ReadonlyMap<string, string>, state: FinishState): Promise<string | undefined> {
  const command = testCommandOf(ctx);
  if (!command || flagged.size || !state.failed) return undefined;
  const failed = await runTests(ctx, command, runCommand);
  const undo = failed && (await undoIfWorse(guard, failed.output));
  return undo && `undid the change that made it worse: ${undo.worse}`;
}
