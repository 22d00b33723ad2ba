// Runs the built agent program as separate processes against a real bare git remote and the fake
// Anthropic server, the way the operator and the local tier run it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STAGE_RESULT_MAX_BYTES } from '../../../operator/src/api/types.js';
import type { StageResult } from '../../../operator/src/api/types.js';
import { contextToEnv } from '../../../operator/src/agent/context.js';
import type { AgentContext } from '../../../operator/src/agent/context.js';
import { exitCodeFor } from '../../../operator/src/agent/result.js';
import { cliPath } from '../../harness/tools.js';

export const ROOT = process.cwd();
export const CLI = cliPath(ROOT);

/** Builds dist/ once per test file. Other people's type errors must not block the agent tests, so
 *  tsc's exit code is reported but only a missing agent build fails. */
export function build(): void {
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    process.stderr.write(`tsc reported errors (continuing if the agent built): ${String((e as { stdout?: Buffer }).stdout ?? '').slice(0, 500)}\n`);
  }
  if (!existsSync(CLI)) throw new Error('the agent did not build');
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=seed', '-c', 'user.email=seed@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A bare remote with one commit on main holding `files`. */
export function makeRemote(dir: string, files: Record<string, string>): string {
  const remote = join(dir, 'remote.git');
  git(dir, 'init', '--quiet', '--bare', remote);
  const seed = join(dir, 'seed');
  git(dir, 'clone', '--quiet', remote, seed);
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(dirname(join(seed, f)), { recursive: true });
    writeFileSync(join(seed, f), c);
  }
  git(seed, 'add', '-A');
  git(seed, 'commit', '--quiet', '-m', 'seed');
  git(seed, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return remote;
}

/** Pushes a commit with `files` on top of main to `ref` (for tests that skip the LLM stages). */
export function pushFiles(dir: string, remote: string, ref: string, files: Record<string, string>): string {
  const w = join(dir, `push-${ref.replace(/\W/g, '-')}`);
  git(dir, 'clone', '--quiet', remote, w);
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(dirname(join(w, f)), { recursive: true });
    writeFileSync(join(w, f), c);
  }
  git(w, 'add', '-A');
  git(w, 'commit', '--quiet', '-m', `files for ${ref}`);
  git(w, 'push', '--quiet', 'origin', `HEAD:${ref}`);
  return git(w, 'rev-parse', 'HEAD');
}

export interface StageRun {
  exitCode: number;
  result: StageResult;
  raw: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * Runs `autorun agent --role R` as a child process and reads its termination message. parentEnv:
 * variables only a parent shell holds (as `autorun run` holds the key its run stage does not get).
 */
export function runAgent(dir: string, ctx: AgentContext, env: Record<string, string> = {}, o: { parentEnv?: Record<string, string> } = {}): Promise<StageRun> {
  const termination = ctx.terminationPath;
  const started = Date.now();
  const agent = [process.execPath, CLI, 'agent', '--role', ctx.role];
  const parent = Object.keys(o.parentEnv ?? {});
  // Not the shell's last command, so it waits as the agent's parent instead of exec-ing it.
  const [file, args] = parent.length ? ['/bin/sh', ['-c', 'env "$@"; exit $?', 'sh', ...parent.flatMap((k) => ['-u', k]), ...agent]] : [agent[0]!, agent.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: dir,
      env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, HOME: process.env.HOME ?? dir, ...contextToEnv(ctx), ...env, ...o.parentEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let raw = '';
      try {
        raw = readFileSync(termination, 'utf8');
      } catch {
        reject(new Error(`no termination message; exit ${code}\n${stderr}\n${stdout.slice(-2000)}`));
        return;
      }
      resolve({ exitCode: code ?? -1, result: JSON.parse(raw) as StageResult, raw, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}

/** Checks a stage result against the StageResult contract and the exit code. */
export function expectContract(run: StageRun): void {
  const r = run.result;
  expect(Buffer.byteLength(run.raw)).toBeLessThanOrEqual(STAGE_RESULT_MAX_BYTES);
  expect(['code', 'test', 'run', 'repair', 'acceptance']).toContain(r.role);
  expect(['Succeeded', 'Failed', 'Error']).toContain(r.outcome);
  expect(typeof r.summary).toBe('string');
  expect(run.exitCode).toBe(exitCodeFor(r.outcome));
  if (r.outcome !== 'Succeeded') expect(typeof r.reason).toBe('string');
  if (r.commit !== undefined) expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
  if (r.tests) {
    expect(r.tests.passed + r.tests.failed).toBe(r.tests.total);
    expect(Array.isArray(r.tests.failing)).toBe(true);
  }
  if (r.usage) {
    for (const k of ['inputTokens', 'outputTokens', 'costUSD'] as const) expect(typeof r.usage[k]).toBe('number');
  }
  // Every stdout line is one JSON object of the transcript.
  for (const line of run.stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(line) as unknown).not.toThrow();
}

export function baseContext(dir: string, role: AgentContext['role'], over: Partial<AgentContext> = {}): AgentContext {
  return {
    task: 'fizz',
    role,
    iteration: 1,
    attempt: 0,
    goal: 'Implement fizzbuzz(n) returning "Fizz" for multiples of 3, "Buzz" for multiples of 5, "FizzBuzz" for multiples of both, else str(n).',
    language: 'python',
    repository: { url: join(dir, 'remote.git'), baseRef: 'main' },
    test: { timeoutSeconds: 120, allowRepairToEditTests: false },
    model: { provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 10 },
    engine: 'sdk',
    workspace: join(dir, `ws-${role}-${Math.random().toString(36).slice(2, 8)}`),
    terminationPath: join(dir, `termination-${role}-${Math.random().toString(36).slice(2, 8)}`),
    ...over,
  };
}
