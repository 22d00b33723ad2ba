// `autorun agent --role code|test|run|repair|acceptance`: the program in every role's Pod and every
// local-tier agent process. It reads its task context (context.ts), does the role's work in a git
// workspace, writes the StageResult to the termination message, and exits 0/1/2 for
// Succeeded/Failed/Error. stdout is the JSON-lines transcript.
//
// SIGTERM/SIGINT (Ctrl-C, the local tier stopping a stage, the kubelet stopping the Pod) stop every
// process group the agent started, log a "stopped" event and exit 128+signal with no verdict: a
// stage that spent nothing writes no termination message (an interrupted attempt: the local tier
// starts it again on the next run, the loop takes the next attempt); one that spent money on the
// model writes only that, as outcome Error reason Stopped, which the loop core counts and takes as
// an interruption, so the task's cost is what the model API billed.
import { constants } from 'node:os';
import type { StageResult } from '../api/types.js';
import { liveGroups, stopChildren } from './children.js';
import { ContextError, ROLES, loadContext } from './context.js';
import type { AgentContext } from './context.js';
import { withModelKeyFile } from './credentials.js';
import { GitError } from './git.js';
import { exitCodeFor, writeResult } from './result.js';
import { llmRole } from './roles/llm-role.js';
import { runRole } from './roles/run-role.js';
import { publishRole } from './roles/publish-role.js';
import type { RunPhase } from './roles/run-role.js';
import { redact, secretValues } from '../util/secrets.js';
import { Transcript } from './transcript.js';
import { spentSoFar } from './spend.js';
import { STOPPED } from '../core/retryable.js';

const USAGE = `usage: autorun agent --role code|test|run|repair|acceptance|publish [--context FILE] [--phase all|checkout|test]

The task context comes from AUTORUN_* variables and/or a JSON file (--context or AUTORUN_CONTEXT_FILE);
see operator/src/agent/context.ts. --phase splits run/acceptance into the checkout (with git
credentials) and the test run (without), for the two containers of a run Pod.
`;

interface Args {
  role?: string;
  context?: string;
  phase: RunPhase;
  help: boolean;
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { phase: 'all', help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ContextError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--role') a.role = value();
    else if (flag === '--context') a.context = value();
    else if (flag === '--phase') {
      const p = value();
      if (p !== 'all' && p !== 'checkout' && p !== 'test') throw new ContextError(`--phase must be all, checkout or test`);
      a.phase = p;
    } else if (flag === '-h' || flag === '--help') a.help = true;
    else throw new ContextError(`unknown argument ${arg}`);
  }
  return a;
}

async function runStage(ctx: AgentContext, phase: RunPhase, env: NodeJS.ProcessEnv, transcript: Transcript): Promise<StageResult> {
  switch (ctx.role) {
    case 'run':
    case 'acceptance':
      return runRole(ctx, env, transcript, phase);
    case 'code':
    case 'test':
    case 'repair':
      return llmRole(ctx, ctx.role, env, transcript);
    case 'publish':
      return publishRole(ctx, env, transcript);
  }
}

/** Between SIGTERM and SIGKILL for the agent's children; below the local tier's 5 s and the Pod's
 *  default 30 s grace, so the agent is done before it is killed itself. */
const STOP_GRACE_MS = 2000;

/** Where a stopped stage writes what it spent, once the context is known. */
let stopReport: { terminationPath: string; role: StageResult['role'] } | undefined;

/**
 * The result of a stage stopped before its verdict that had spent money on the model: outcome
 * Error, reason Stopped, its usage. The loop core takes it as an interruption (no verdict, not a
 * failure of the task) and counts the money; a stage that spent nothing writes nothing, as before.
 */
function writeStopped(signal: NodeJS.Signals, transcript: Transcript): boolean {
  const usage = spentSoFar();
  if (!usage || !stopReport) return false;
  const result: StageResult = { role: stopReport.role, outcome: 'Error', reason: STOPPED, summary: `stopped by ${signal} before the stage finished, after spending $${usage.costUSD.toFixed(4)} on the model`, usage };
  try {
    writeResult(stopReport.terminationPath, result);
    transcript.log('result', { result });
    return true;
  } catch (e) {
    transcript.log('warning', { message: `cannot write the stopped stage's spend to ${stopReport.terminationPath}: ${(e as Error).message}` });
    return false;
  }
}

/** Stops the children and exits on the first SIGTERM/SIGINT; a second one kills them at once. */
function onStopSignals(transcript: Transcript, started: number, exitCode: () => number | undefined): { signal: () => NodeJS.Signals | undefined; remove: () => void } {
  let signalled: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) {
      void stopChildren();
      return;
    }
    signalled = signal;
    transcript.log('stopping', { signal, childGroups: liveGroups().length });
    void stopChildren(STOP_GRACE_MS).then((groups) => {
      const written = exitCode();
      const spendWritten = written === undefined && writeStopped(signal, transcript);
      transcript.log('stopped', {
        signal,
        childGroups: groups,
        durationMs: Date.now() - started,
        summary:
          written !== undefined
            ? `stopped by ${signal} after the result was written`
            : spendWritten
              ? `stopped by ${signal} before the stage finished; wrote what it spent`
              : `stopped by ${signal} before the stage finished; no result written`,
      });
      process.exit(written ?? 128 + constants.signals[signal]);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return {
    signal: () => signalled,
    remove: () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    },
  };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let keyProblem: string | undefined;
  try {
    env = withModelKeyFile(env);
  } catch (e) {
    keyProblem = (e as Error).message;
  }
  const secrets = secretValues(env);
  const transcript = new Transcript(secrets);
  const started = Date.now();
  let written: number | undefined;
  const stop = onStopSignals(transcript, started, () => written);
  try {
    return await stage(argv, env, secrets, transcript, started, stop.signal, (code) => (written = code), keyProblem);
  } finally {
    stop.remove();
  }
}

async function stage(
  argv: string[],
  env: NodeJS.ProcessEnv,
  secrets: string[],
  transcript: Transcript,
  started: number,
  stoppedBy: () => NodeJS.Signals | undefined,
  wrote: (exitCode: number) => void,
  keyProblem: string | undefined,
): Promise<number> {
  let result: StageResult;
  let terminationPath = env.AUTORUN_TERMINATION_PATH || '/dev/termination-log';
  const fallbackRole = (ROLES as readonly string[]).includes(env.AUTORUN_ROLE ?? '') ? (env.AUTORUN_ROLE as StageResult['role']) : 'run';
  try {
    const args = parseArgs(argv);
    if (args.help) {
      process.stderr.write(USAGE);
      return 0;
    }
    const ctx = loadContext(args.role ? { ...env, AUTORUN_ROLE: args.role } : env, args.context);
    terminationPath = ctx.terminationPath;
    stopReport = { terminationPath, role: ctx.role };
    if (keyProblem) throw new ContextError(keyProblem);
    transcript.log('context', { task: ctx.task, role: ctx.role, iteration: ctx.iteration, attempt: ctx.attempt, phase: args.phase, workspace: ctx.workspace });
    result = await runStage(ctx, args.phase, env, transcript);
  } catch (e) {
    const err = e as Error;
    const reason = e instanceof ContextError ? 'BadContext' : e instanceof GitError ? 'GitFailed' : 'InternalError';
    const role = (ROLES as readonly string[]).includes(argvRole(argv) ?? '') ? (argvRole(argv) as StageResult['role']) : fallbackRole;
    result = { role, outcome: 'Error', reason, summary: err.message || String(err) };
    if (reason === 'InternalError') transcript.log('internal-error', { stack: err.stack });
  }
  // A stage cut short by the stop (its test run killed) would report what the kill did, not the code.
  const signal = stoppedBy();
  if (signal) return 128 + constants.signals[signal];
  result.summary = redact(result.summary, secrets);
  let json: string;
  try {
    json = writeResult(terminationPath, result);
  } catch (e) {
    // Outside a Pod there may be no /dev/termination-log; the transcript still carries the result.
    transcript.log('warning', { message: `cannot write the termination message to ${terminationPath}: ${(e as Error).message}` });
    json = JSON.stringify(result);
  }
  wrote(exitCodeFor(result.outcome));
  transcript.log('result', { result: JSON.parse(json) as StageResult, durationMs: Date.now() - started });
  return exitCodeFor(result.outcome);
}

function argvRole(argv: string[]): string | undefined {
  const i = argv.indexOf('--role');
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
}
