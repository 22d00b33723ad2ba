// run and acceptance: no model. Check out merge(code, tests) (plus the hidden tests for acceptance),
// run the tests under a deadline, re-run the failing ones once to tell flaky from broken, and report.
// In a Pod the checkout (init container, with git credentials) and the test phase (toolchain image,
// no credentials, maybe no git) are separate invocations: --phase checkout, then --phase test.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageResult } from '../../api/types.js';
import { stageRefs } from '../context.js';
import type { AgentContext } from '../context.js';
import { execSandboxed } from '../exec.js';
import type { ExecResult } from '../exec.js';
import { Git, GitError } from '../git.js';
import { NoRunnerError, planFor } from '../runner/plan.js';
import { hungTest } from '../runner/hung.js';
import type { RunPlan } from '../runner/plan.js';
import { buildFailures, tail } from '../runner/report.js';
import type { FailureReport } from '../runner/report.js';
import { countsOf, isFailing, passedOnRerun } from '../runner/types.js';
import type { ParsedRun, TestCase } from '../runner/types.js';
import { scrubEnv } from '../../util/secrets.js';
import type { Transcript } from '../transcript.js';

export type RunPhase = 'all' | 'checkout' | 'test';
/** Written by the checkout phase so the test phase knows the commit without needing git. */
export const TESTED_COMMIT_FILE = join('.git', 'autorun-tested-commit');
const RESULTS_DIR = join('.git', 'autorun-results');
/** Where hidden acceptance tests go (Go tests must sit in their package: the root). */
export const ACCEPTANCE_SUBDIR = 'autorun-acceptance';
const MAX_FAILING_NAMES = 200;

function acceptanceTarget(ctx: AgentContext): string {
  return ctx.language === 'go' || ctx.language === 'other' ? ctx.workspace : join(ctx.workspace, ACCEPTANCE_SUBDIR);
}

function copyAcceptance(ctx: AgentContext): string[] {
  const from = ctx.test.acceptanceDir;
  if (!from || !existsSync(from)) throw new GitError(`acceptance tests directory ${from ?? '(AUTORUN_ACCEPTANCE_DIR unset)'} does not exist`);
  const to = acceptanceTarget(ctx);
  mkdirSync(to, { recursive: true });
  const copied: string[] = [];
  // ConfigMap mounts hold ..data symlinks and dot-directories; only plain top-level files are tests.
  for (const name of readdirSync(from)) {
    if (name.startsWith('.') || !statSync(join(from, name)).isFile()) continue;
    if (existsSync(join(to, name))) throw new GitError(`hidden test ${name} would overwrite a file of the project`);
    copyFileSync(join(from, name), join(to, name));
    copied.push(name);
  }
  return copied;
}

async function checkout(ctx: AgentContext, env: NodeJS.ProcessEnv, transcript: Transcript): Promise<string> {
  const git = new Git(ctx.workspace, env);
  const refs = stageRefs(ctx);
  await git.clone(ctx.repository.url);
  const code = await git.fetch(refs.code);
  const tests = await git.fetch(refs.tests);
  if (!code || !tests) throw new GitError(`${!code ? refs.code : refs.tests} not found in the repository`);
  const commit = await git.mergeCodeAndTests(code, tests);
  writeFileSync(join(ctx.workspace, TESTED_COMMIT_FILE), commit);
  const hidden = ctx.role === 'acceptance' ? copyAcceptance(ctx) : [];
  transcript.log('checkout', { code, tests, commit, hiddenTests: hidden.length });
  return commit;
}

/** The tests run generated code: in the sandbox, without network (sandbox.ts). */
function runOnce(plan: RunPlan, ctx: AgentContext, env: NodeJS.ProcessEnv, agentEnv: NodeJS.ProcessEnv): Promise<ExecResult> {
  return execSandboxed(plan.command, { cwd: ctx.workspace, env, agentEnv, network: false, timeoutMs: ctx.test.timeoutSeconds * 1000, maxOutputBytes: 4 << 20 });
}

export async function runRole(ctx: AgentContext, env: NodeJS.ProcessEnv, transcript: Transcript, phase: RunPhase = 'all'): Promise<StageResult> {
  const role = ctx.role;
  let commit: string | undefined;
  if (phase !== 'test') commit = await checkout(ctx, env, transcript);
  else if (existsSync(join(ctx.workspace, TESTED_COMMIT_FILE))) commit = readFileSync(join(ctx.workspace, TESTED_COMMIT_FILE), 'utf8').trim();
  if (phase === 'checkout') return { role, outcome: 'Succeeded', commit, summary: `checked out ${commit?.slice(0, 8)}` };

  // The runners' JUnit XML goes inside the stage's own workspace (under .git, out of the tests'
  // sight), so even an agent killed mid-run leaves nothing behind outside it.
  const out = join(ctx.workspace, RESULTS_DIR);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  try {
    return await runTests(ctx, env, transcript, out, commit);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function runTests(ctx: AgentContext, env: NodeJS.ProcessEnv, transcript: Transcript, out: string, commit: string | undefined): Promise<StageResult> {
  const role = ctx.role;
  const acceptance = role === 'acceptance';
  let plan: RunPlan;
  try {
    plan = planFor({
      language: ctx.language,
      root: ctx.workspace,
      out,
      env,
      command: acceptance ? (ctx.test.acceptanceCommand ?? ctx.test.command) : ctx.test.command,
      // The author's acceptance command runs as written; the task's test command is pointed at the hidden tests.
      targets: acceptance && !ctx.test.acceptanceCommand && acceptanceTarget(ctx) !== ctx.workspace ? [ACCEPTANCE_SUBDIR] : undefined,
    });
  } catch (e) {
    if (e instanceof NoRunnerError) return { role, outcome: 'Error', reason: 'NoTestRunner', commit, summary: e.message };
    throw e;
  }
  // The tests run generated code: they get no secret, and CI=true keeps runners non-interactive.
  const testEnv = { ...scrubEnv(env), CI: 'true' };
  transcript.log('test-command', { command: plan.command, timeoutSeconds: ctx.test.timeoutSeconds });
  const r = await runOnce(plan, ctx, testEnv, env);
  let parsed: ParsedRun | undefined;
  try {
    parsed = plan.parse(r.stdout, r.output);
  } catch (e) {
    transcript.log('warning', { message: `cannot read the test results: ${(e as Error).message}` });
  }
  transcript.log('test-finished', { exitCode: r.exitCode, signal: r.signal, timedOut: r.timedOut, durationMs: r.durationMs });

  let failing: TestCase[] = parsed?.cases.filter(isFailing) ?? [];
  const flaky: string[] = [];
  const rerun = failing.length && !r.timedOut ? plan.rerun?.(failing) : undefined;
  if (rerun) {
    transcript.log('flaky-check', { command: rerun.command, tests: failing.length });
    const r2 = await runOnce(rerun, ctx, testEnv, env);
    let again: ParsedRun | undefined;
    try {
      again = rerun.parse(r2.stdout, r2.output);
    } catch {
      again = undefined;
    }
    const passedNow = passedOnRerun(failing, again?.cases ?? []);
    for (const c of failing) if (passedNow.has(c.name)) flaky.push(c.name);
    failing = failing.filter((c) => !passedNow.has(c.name));
  }

  const counts = parsed ? countsOf(parsed) : { passed: 0, failed: 0, total: 0 };
  // Flaky tests passed on their second run: they count as passed and are recorded, not repaired.
  // Counts read from text may miss what the names show (jest counts no suite that failed to run).
  const failed = parsed?.counts ? Math.max(counts.failed - flaky.length, failing.length) : failing.length;
  const total = parsed?.counts ? Math.max(counts.total, counts.passed + flaky.length + failed) : counts.total;
  const passed = total - failed;
  const names = (failing.length ? failing.map((c) => c.name) : []).slice(0, MAX_FAILING_NAMES);
  const tests = { passed, failed, total, failing: names, ...(flaky.length ? { flaky } : {}) };

  let outcome: StageResult['outcome'];
  let reason: string | undefined;
  let summary: string;
  const what = acceptance ? 'acceptance tests' : 'tests';
  const hung = r.timedOut ? hungTest(r.stdout, r.output) : undefined;
  if (r.timedOut) {
    outcome = 'Failed';
    reason = 'TestTimeout';
    summary = `${what} hung: killed after ${ctx.test.timeoutSeconds}s (spec.test.timeoutSeconds)${hung ? ` while ${hung} ran` : ''}: ${plan.command}`;
  } else if (!parsed || total === 0) {
    if (!parsed && r.exitCode === 0) {
      outcome = 'Succeeded';
      summary = `${what} command passed (exit 0; no test counts in its output)`;
    } else {
      outcome = 'Error';
      reason = r.exitCode === 127 ? 'TestCommandNotFound' : 'NoTests';
      summary = `no ${what} ran (exit ${r.exitCode ?? r.signal}): ${tail(r.output, 200).replace(/\s+/g, ' ').trim()}`;
    }
  } else if (failed > 0) {
    outcome = 'Failed';
    reason = acceptance ? 'AcceptanceFailed' : 'TestsFailed';
    summary = `${failed} of ${total} ${what} fail${flaky.length ? `, ${flaky.length} flaky` : ''}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`;
  } else if (r.exitCode !== 0 && !flaky.length) {
    outcome = 'Failed';
    reason = 'CommandFailed';
    summary = `all ${total} ${what} pass but the command exited ${r.exitCode ?? r.signal}`;
  } else {
    outcome = 'Succeeded';
    summary = `${passed} of ${total} ${what} pass${flaky.length ? ` (${flaky.length} flaky: passed on re-run)` : ''}`;
  }

  const report: FailureReport = {
    role: acceptance ? 'acceptance' : 'run',
    commit,
    command: plan.command,
    exitCode: r.exitCode,
    timedOut: r.timedOut,
    ...(hung ? { hungTest: hung } : {}),
    durationMs: r.durationMs,
    tests: { passed, failed, total },
    failures: buildFailures(failing),
    flaky,
    outputTail: tail(r.output),
  };
  if (outcome !== 'Succeeded') {
    if (ctx.reportPath) writeFileSync(ctx.reportPath, JSON.stringify(report, null, 2));
    transcript.log('failure-report', { report });
  }
  return { role, outcome, commit, tests, summary, ...(reason ? { reason } : {}), ...(hung ? { hungTest: hung } : {}) };
}
