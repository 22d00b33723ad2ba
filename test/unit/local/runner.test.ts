// The local shell around the real loop core, with a scripted stand-in for the agent program as the
// stage process: real child processes, real files, real state; only the agent's work is faked.
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from '../../../operator/src/api/validate.js';
import type { AgentPool } from '../../../operator/src/api/types.js';
import { GpuAllocator } from '../../../operator/src/local/gpus.js';
import { defaultPool } from '../../../operator/src/local/pools.js';
import { Progress } from '../../../operator/src/local/progress.js';
import { Runner, type LocalTask } from '../../../operator/src/local/runner.js';
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

function runner(tasks: LocalTask[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const r = new Runner({
    dir: new StateDir(join(root, '.autorun')),
    tasks,
    agentCommand: [process.execPath, FAKE_AGENT],
    gpus: new GpuAllocator([]),
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
    const ends = entries();
    const lastOfA = Math.max(...ends.map((e, i) => (e.event === 'end' && (e.workspace as string | undefined) === undefined && i) || -1).filter((i) => i >= 0 && readTask(ends, i) === 'a'));
    const firstOfB = ends.findIndex((e) => e.event === 'start' && (e.workspace as string).includes(`${join('.autorun', 'b')}`));
    expect(firstOfB).toBeGreaterThan(lastOfA);
  });

  test('interrupted stages are started again under the same name; finished ones never', async () => {
    const t = localTask('resumable');
    const first = runner([t], { FAKE_SLEEP_MS: 'test=60000' });
    const running = first.r.run();
    // Wait until code finished and test is sleeping, then interrupt.
    for (let i = 0; i < 200 && !entries().some((e) => e.event === 'end' && e.role === 'code'); i++) await new Promise((res) => setTimeout(res, 25));
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
    const t = localTask('recover', {}, defaultPool({}));
    const first = runner([t], { FAKE_SLEEP_MS: 'test=800' });
    const running = first.r.run();
    for (let i = 0; i < 200 && !entries().some((e) => e.event === 'start' && e.role === 'test'); i++) await new Promise((res) => setTimeout(res, 25));
    // Simulate a run that died (SIGKILL) while the stage ran: take its recorded state as it is on
    // disk now and let the stage finish on its own, unwatched by the next run.
    const onDisk = new StateDir(join(root, '.autorun')).load('recover')!;
    const pid = onDisk.stages.find((s) => s.role === 'test')!.pid!;
    expect(pid).toBeGreaterThan(0);
    await running; // (the first runner still finishes; we only use its mid-run snapshot)
    const again = localTask('recover');
    again.state = onDisk;
    const before = entries().filter((e) => e.event === 'start').length;
    await runner([again]).r.run();
    expect(again.state.status.phase).toBe('Succeeded');
    const rerun = entries().slice(before).filter((e) => e.event === 'start' && e.iteration === 1 && (e.role === 'test' || e.role === 'code'));
    expect(rerun).toEqual([]);
  }, 30000);
});

function readTask(all: Entry[], i: number): string {
  // The end entry of a stage follows its start entry from the same pid.
  const end = all[i]!;
  const start = [...all.slice(0, i)].reverse().find((e) => e.event === 'start' && e.role === end.role && e.iteration === end.iteration);
  return (start?.workspace as string).includes(join('.autorun', 'a', 'stages')) ? 'a' : 'b';
}
