// The local shell around the real loop core, with a scripted stand-in for the agent program as the
// stage process: real child processes, real files, real state; only the agent's work is faked.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from '../../../operator/src/api/validate.js';
import type { AgentPool } from '../../../operator/src/api/types.js';
import { GpuAllocator } from '../../../operator/src/local/gpus.js';
import { defaultPool } from '../../../operator/src/local/pools.js';
import { Progress } from '../../../operator/src/local/progress.js';
import { Runner, type LocalTask } from '../../../operator/src/local/runner.js';
import { spawnStage, STAGE_MARKER_ENV } from '../../../operator/src/local/stage-process.js';
import { StateDir, type TaskState } from '../../../operator/src/local/state.js';

const FAKE_AGENT = fileURLToPath(new URL('./fixtures/fake-agent.mjs', import.meta.url));

let root: string;
let log: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'autorun-runner-'));
  log = join(root, 'agent.log');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Entry = { event: string; role: string; iteration: number; attempt: number; pid: number } & Record<string, unknown>;
const entries = (): Entry[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Entry) : []);

function localTask(name: string, spec: Record<string, unknown> = {}, pool: AgentPool = defaultPool({}), order = 0): LocalTask {
  const r = validate('CodingTask', { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', metadata: { name }, spec: { goal: 'fizzbuzz', ...spec } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const now = new Date().toISOString();
  const state: TaskState = { version: 1, task: { ...r.object, metadata: { name, generation: 1 } }, pool: pool.metadata.name, createdAt: now, status: {}, stages: [], updatedAt: now };
  return { state, pool, repositoryUrl: join(root, 'remote.git'), order };
}

function runner(tasks: LocalTask[], env: Record<string, string> = {}, gpus: string[] = []) {
  const out: string[] = [];
  const r = new Runner({
    dir: new StateDir(join(root, '.autorun')),
    tasks,
    agentCommand: [process.execPath, FAKE_AGENT],
    gpus: new GpuAllocator(gpus),
    progress: new Progress({ write: (s: string) => out.push(s) }, false),
    env: { ...process.env, FAKE_LOG: log, ANTHROPIC_API_KEY: 'sk-ant-test-0123456789', ...env },
  });
  return { r, out };
}

describe('Runner', () => {
  test('code ∥ test, a failing run, repair with the failure report, a passing run', async () => {
    const t = localTask('fizzbuzz');
    const { r, out } = runner([t]);
    expect(await r.run()).toEqual({ interrupted: false });
    expect(t.state.status.phase).toBe('Succeeded');
    expect(t.state.status.tests?.summary).toBe('2/2');
    const starts = entries().filter((e) => e.event === 'start');
    expect(starts.map((e) => `${e.role}${e.iteration}.${e.attempt}`).sort()).toEqual(['code1.0', 'repair2.0', 'run1.0', 'run2.0', 'test1.0'].sort());
    const repair = starts.find((e) => e.role === 'repair')!;
    expect(repair.reportExists).toBe(true);
    expect(repair.failureReport).toBe(join(root, '.autorun', 'fizzbuzz', 'stages', 'fizzbuzz-i1-run-a0', 'failure-report.json'));
    expect(JSON.parse(repair.failing as string)).toEqual(['test_fizzbuzz.py::test_15']);
    // The run role executes generated code: it gets no secret.
    expect(starts.find((e) => e.role === 'run')!.hasKey).toBe(false);
    expect(starts.find((e) => e.role === 'code')!.hasKey).toBe(true);
    // cwd is the stage's own workspace.
    expect(starts[0]!.cwd).toBe(starts[0]!.workspace);
    // The record on disk says the same as memory, and the transcript went to the stage log.
    const saved = new StateDir(join(root, '.autorun')).load('fizzbuzz')!;
    expect(saved.status.phase).toBe('Succeeded');
    expect(saved.stages.every((s) => s.state === 'Finished' && s.result)).toBe(true);
    expect(readFileSync(join(root, '.autorun', 'fizzbuzz', 'stages', 'fizzbuzz-i1-code-a0', 'transcript.log'), 'utf8')).toBe('fake agent code i1 a0\n');
    expect(out.join('')).toMatch(/fizzbuzz: fizzbuzz-i2-repair-a0 started/);
  });

  test('a process that exits without a result is a stage failure with reason ExitCode', async () => {
    const base = defaultPool({});
    const pool = { ...base, spec: { ...base.spec, roles: { ...base.spec.roles, code: { ...base.spec.roles!.code, maxAttempts: 1 } } } } as AgentPool;
    const t = localTask('crashy', {}, pool);
    const { r } = runner([t], { FAKE_CRASH: 'code' });
    await r.run();
    expect(t.state.status.phase).toBe('Failed');
    expect(t.state.status.reason).toBe('ExitCode');
    const code = t.state.stages.find((s) => s.role === 'code')!;
    expect(code).toMatchObject({ state: 'Finished', failureReason: 'ExitCode', exitCode: 3 });
    expect(code.failureMessage).toMatch(/exited with code 3 without a result: .*boom: the agent crashed/);
  });

  test("a stage past its role's timeoutSeconds is killed: reason DeadlineExceeded", async () => {
    const base = defaultPool({});
    const code = { ...base.spec.roles!.code, timeoutSeconds: 1, maxAttempts: 1 };
    const pool = { ...base, spec: { ...base.spec, roles: { ...base.spec.roles, code } } } as AgentPool;
    const t = localTask('slow', {}, pool);
    // Killed at the deadline: the 20 s agent would otherwise have finished with a result.
    await runner([t], { FAKE_SLEEP_MS: 'code=20000' }).r.run();
    expect(t.state.status).toMatchObject({ phase: 'Failed', reason: 'DeadlineExceeded' });
    expect(t.state.stages.find((s) => s.role === 'code')).toMatchObject({ state: 'Finished', failureReason: 'DeadlineExceeded', signal: 'SIGTERM' });
  });

  test('one GPU: run stages get it through CUDA_VISIBLE_DEVICES, one at a time; LLM stages see none', async () => {
    const a = localTask('ga', {}, defaultPool({}), 0);
    const b = localTask('gb', {}, defaultPool({}), 1);
    const { r } = runner([a, b], { FAKE_FAIL_RUNS: '0', FAKE_SLEEP_MS: 'run=400' }, ['7']);
    await r.run();
    expect([a.state.status.phase, b.state.status.phase]).toEqual(['Succeeded', 'Succeeded']);
    const log = entries();
    expect(log.filter((e) => e.event === 'start' && e.role === 'run').map((e) => e.cuda)).toEqual(['7', '7']);
    expect(log.filter((e) => e.event === 'start' && e.role !== 'run').every((e) => e.cuda === '')).toBe(true);
    // The second run stage started only after the first ended.
    const roles = log.filter((e) => e.role === 'run').map((e) => `${e.event}:${e.task}`);
    expect(roles[1]).toMatch(/^end:/);
    expect(a.state.stages.find((s) => s.role === 'run')!.gpuSeconds).toBeGreaterThanOrEqual(0);
  });

  test('maxIterations stops a task whose tests never pass', async () => {
    const t = localTask('stubborn', { limits: { maxIterations: 2 } });
    const { r } = runner([t], { FAKE_FAIL_RUNS: '99' });
    await r.run();
    expect(t.state.status.phase).toBe('Failed');
    expect(t.state.status.reason).toBe('MaxIterations');
  });

  test('one slot: the second task waits in Queued until the first is done', async () => {
    const base = defaultPool({});
    const pool = { ...base, spec: { ...base.spec, maxConcurrentTasks: 1 } } as AgentPool;
    const a = localTask('a', {}, pool, 0);
    const b = localTask('b', {}, pool, 1);
    const { r, out } = runner([a, b], { FAKE_FAIL_RUNS: '0' });
    await r.run();
    expect([a.state.status.phase, b.state.status.phase]).toEqual(['Succeeded', 'Succeeded']);
    expect(out.join('')).toMatch(/^b +Queued/m);
    const log = entries();
    const lastOfA = log.map((e, i) => (e.event === 'end' && e.task === 'a' ? i : -1)).reduce((x, y) => Math.max(x, y));
    const firstOfB = log.findIndex((e) => e.event === 'start' && e.task === 'b');
    expect(lastOfA).toBeGreaterThan(0);
    expect(firstOfB).toBeGreaterThan(lastOfA);
  });

  test('one slot: a later task of higher priority is admitted before an earlier one (contract/admission.ts, as in the operator)', async () => {
    const base = defaultPool({});
    const pool = { ...base, spec: { ...base.spec, maxConcurrentTasks: 1 } } as AgentPool;
    const a = localTask('a', {}, pool, 0);
    const early = localTask('early', {}, pool, 1);
    const urgent = localTask('urgent', { priority: 10 }, pool, 2);
    // Queued a minute apart: the local tier used to rank queue time before priority.
    early.state.status = { phase: 'Queued', queuedAt: new Date(Date.now() - 120_000).toISOString() };
    urgent.state.status = { phase: 'Queued', queuedAt: new Date(Date.now() - 60_000).toISOString() };
    const { r } = runner([a, early, urgent], { FAKE_FAIL_RUNS: '0' });
    await r.run();
    const firstStart = (task: string) => entries().findIndex((e) => e.event === 'start' && e.task === task);
    expect(firstStart('urgent')).toBeLessThan(firstStart('early'));
  });

  test('every state save records a running stage with its pid (one save per pass, after its starts)', async () => {
    const t = localTask('saves');
    const dir = new StateDir(join(root, '.autorun'));
    const withoutPid: string[] = [];
    const save = dir.save.bind(dir);
    dir.save = (s: TaskState) => {
      for (const st of s.stages) if (st.state === 'Running' && st.pid === undefined) withoutPid.push(st.name);
      save(s);
    };
    const r = new Runner({
      dir,
      tasks: [t],
      agentCommand: [process.execPath, FAKE_AGENT],
      gpus: new GpuAllocator([]),
      progress: new Progress({ write: () => undefined }, false),
      env: { ...process.env, FAKE_LOG: log, ANTHROPIC_API_KEY: 'sk-ant-test-0123456789' },
    });
    await r.run();
    expect(t.state.status.phase).toBe('Succeeded');
    expect(withoutPid).toEqual([]);
  });

  test('interrupted stages are started again under the same name; finished ones never', async () => {
    const t = localTask('resumable');
    const first = runner([t], { FAKE_SLEEP_MS: 'test=60000' });
    const running = first.r.run();
    // Wait until code finished and test is sleeping, then interrupt.
    const ready = () => entries().some((e) => e.event === 'end' && e.role === 'code') && entries().some((e) => e.event === 'start' && e.role === 'test');
    for (let i = 0; i < 400 && !ready(); i++) await new Promise((res) => setTimeout(res, 25));
    expect(ready()).toBe(true);
    first.r.interrupt();
    expect(await running).toEqual({ interrupted: true });
    const saved = new StateDir(join(root, '.autorun')).load('resumable')!;
    expect(saved.stages.map((s) => s.name)).toEqual(['resumable-i1-code-a0']);
    expect(saved.status.stages?.find((s) => s.role === 'test')?.state).toMatch(/Pending|Running/);

    const again = localTask('resumable');
    again.state = saved;
    const second = runner([again]);
    await second.r.run();
    expect(again.state.status.phase).toBe('Succeeded');
    const starts = entries().filter((e) => e.event === 'start').map((e) => `${e.role}${e.iteration}.${e.attempt}`);
    expect(starts.filter((s) => s === 'code1.0')).toHaveLength(1);
    // The interrupted test stage ran again as the same attempt.
    expect(starts.filter((s) => s === 'test1.0')).toHaveLength(2);
    expect(starts).not.toContain('test1.1');
  }, 30000);

  test('a result written after the run died is recovered, not re-run', async () => {
    const dir = new StateDir(join(root, '.autorun'));
    const t = localTask('recover');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const code = { name: 'recover-i1-code-a0', iteration: 1, role: 'code' as const, attempt: 0 };
    const test = { name: 'recover-i1-test-a0', iteration: 1, role: 'test' as const, attempt: 0 };
    t.state.stages = [
      { ...code, state: 'Finished', result: { role: 'code', outcome: 'Succeeded', commit: 'c'.repeat(40), summary: 'done' }, startTime: new Date().toISOString(), finishTime: new Date().toISOString() },
      { ...test, state: 'Running', pid: dead, startTime: new Date().toISOString() },
    ];
    // The test stage finished after the run that started it died: its termination file is there.
    writeFileSync(dir.resetStage('recover', test.name).result, JSON.stringify({ role: 'test', outcome: 'Succeeded', commit: 't'.repeat(40), summary: 'wrote tests' }));
    await runner([t], { FAKE_FAIL_RUNS: '0' }).r.run();
    expect(t.state.status.phase).toBe('Succeeded');
    expect(entries().filter((e) => e.event === 'start').map((e) => e.role)).toEqual(['run']);
  });

  test('a stage still running from a dead run is adopted and waited for, not started twice', async () => {
    const dir = new StateDir(join(root, '.autorun'));
    const t = localTask('adopt');
    const test = { name: 'adopt-i1-test-a0', iteration: 1, role: 'test' as const, attempt: 0 };
    const files = dir.resetStage('adopt', test.name);
    // An agent started by a previous run, still working.
    const orphan = spawnStage([process.execPath, FAKE_AGENT, '--role', 'test'], {
      cwd: root,
      transcript: files.transcript,
      env: {
        ...process.env, FAKE_LOG: log, FAKE_SLEEP_MS: 'test=700', AUTORUN_TASK: 'adopt', AUTORUN_ITERATION: '1', AUTORUN_ATTEMPT: '0',
        AUTORUN_TERMINATION_PATH: files.result, [STAGE_MARKER_ENV]: `${dir.root}/adopt/${test.name}`,
      },
    });
    t.state.stages = [{ ...test, state: 'Running', pid: orphan.pid!, startTime: new Date().toISOString() }];
    const { r, out } = runner([t], { FAKE_FAIL_RUNS: '0' });
    await r.run();
    await orphan.done;
    expect(t.state.status.phase).toBe('Succeeded');
    expect(out.join('')).toMatch(/adopt-i1-test-a0 is still running from the previous run/);
    expect(entries().filter((e) => e.event === 'start' && e.role === 'test')).toHaveLength(1);
  });

  test('a recycled pid (not our agent) is not adopted: the stage starts again', async () => {
    const t = localTask('recycled');
    // Our own pid is alive but is not the stage's agent.
    t.state.stages = [{ name: 'recycled-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Running', pid: process.pid, startTime: new Date().toISOString() }];
    await runner([t], { FAKE_FAIL_RUNS: '0' }).r.run();
    expect(t.state.status.phase).toBe('Succeeded');
    expect(entries().filter((e) => e.event === 'start' && e.role === 'test')).toHaveLength(1);
  });
});
