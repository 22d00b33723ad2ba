// Stopping a stage stops what it started. The agent runs test commands in process groups of their
// own (so a deadline kills a runner's workers too), which a signal to the agent does not reach; its
// SIGTERM/SIGINT handler must kill them: Ctrl-C in the local tier, a Pod deleted.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { contextToEnv } from '../../../operator/src/agent/context.js';
import { spawnGroup, stopChildren } from '../../../operator/src/agent/children.js';
import { CLI, ROOT, baseContext, build, makeRemote, pushFiles } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

beforeAll(() => build(), 300_000);

/** Live (not zombie) processes whose command line holds `marker` or whose cwd is `dir`. */
function processes(marker: string, dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) continue;
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (args.includes(marker) || readlinkSync(`/proc/${name}/cwd`) === dir) found.push(Number(name));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Unsandboxed, the test run is a process group the agent signals, TERM then KILL after the grace; in
// the sandbox (the default), bwrap's end tears its PID namespace down, the stubborn child with it.
test.each([
  ['SIGTERM', 143, 'off'],
  ['SIGINT', 130, 'off'],
  ['SIGTERM', 143, 'on'],
] as const)('%s stops the agent and kills the hanging test run, even a process that ignores SIGTERM (sandbox %s %s)', async (signal, exitCode, sandbox) => {
  const dir = tempDir('autorun-signal-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  const marker = `autorun-hang-${Math.random().toString(36).slice(2)}`;
  pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'slow.py': 'def f():\n    return 1\n' });
  // The test hangs, and its child shrugs off SIGTERM: only the SIGKILL after the grace ends it.
  // Outside the workspace, so the sandboxed test may write it only through AUTORUN_SANDBOX_WRITABLE.
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  const ready = join(shared, 'ignoring-sigterm');
  const stubborn = `import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); open(${JSON.stringify(ready)}, "w").close(); time.sleep(300)`;
  pushFiles(dir, remote, 'refs/autorun/fizz/tests', {
    'tests/test_hang.py': `import subprocess, sys, time\n\ndef test_hangs():\n    subprocess.Popen([sys.executable, "-c", ${JSON.stringify(stubborn)}, ${JSON.stringify(marker)}])\n    time.sleep(300)\n`,
  });
  const ctx = baseContext(dir, 'run', { test: { timeoutSeconds: 600, allowRepairToEditTests: false } });
  const agent = spawn(process.execPath, [CLI, 'agent', '--role', 'run'], {
    cwd: dir,
    env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, HOME: process.env.HOME ?? dir, ...contextToEnv(ctx), AUTORUN_SANDBOX_WRITABLE: shared, ...(sandbox === 'off' ? { AUTORUN_SANDBOX: 'off' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  agent.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => agent.on('close', (code) => resolve({ code, at: Date.now() })));
  try {
    // Running: the grandchild ignores SIGTERM now, and the shell and pytest are there with it.
    await until('the test run', 60_000, () => (existsSync(ready) ? true : undefined));
    const started = processes(marker, ctx.workspace);
    expect(started.length).toBeGreaterThanOrEqual(3); // sh -c, pytest, the grandchild

    const sent = Date.now();
    agent.kill(signal);
    const { code, at } = await exited;
    expect(code).toBe(exitCode);
    // The grace is 2 s; unsandboxed the agent waits for it because the grandchild ignores SIGTERM (a
    // lower bound, which load cannot break; that it ends at all is the processes being gone).
    if (sandbox === 'off') expect(at - sent).toBeGreaterThanOrEqual(1500);
    // SIGKILLed is not yet gone: on a busy machine the kernel may take a moment to tear it down.
    await until('the test run to be gone', 5000, () => (processes(marker, ctx.workspace).length === 0 ? true : undefined));

    // No result: to the loop an interrupted stage is one to run again, not a verdict on the code.
    expect(existsSync(ctx.terminationPath)).toBe(false);
    const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; signal?: string; childGroups?: number; summary?: string });
    expect(events.find((e) => e.event === 'stopping')).toMatchObject({ signal, childGroups: 1 });
    expect(events.at(-1)).toMatchObject({ event: 'stopped', signal, childGroups: 1, summary: expect.stringMatching(/before the stage finished/) as string });
    expect(events.some((e) => e.event === 'result' || e.event === 'flaky-check')).toBe(false);
  } finally {
    agent.kill('SIGKILL');
    for (const p of processes(marker, ctx.workspace)) process.kill(p, 'SIGKILL');
  }
}, 90_000);

test('children started once a stop began are killed at once; a second stop does not wait', async () => {
  const closed = (child: ReturnType<typeof spawnGroup>): Promise<NodeJS.Signals | null> => new Promise((r) => child.on('close', (_c, s) => r(s)));
  // The shell says when its trap is set: a stop before that would find it still killable by TERM.
  const stubborn = spawnGroup('sh', ['-c', 'trap "" TERM; echo trapped; sleep 30 & wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const done = closed(stubborn);
  await new Promise((r) => stubborn.stdout!.once('data', r));
  // A grace longer than the test's timeout: only a second call that does not wait lets it pass.
  const first = stopChildren(600_000);
  // A second call (a second Ctrl-C) SIGKILLs at once instead of waiting out the grace.
  await stopChildren();
  expect(await first).toBe(1);
  expect(await done).toBe('SIGKILL');
  const late = spawnGroup('sleep', ['30'], { stdio: 'ignore' });
  expect(await closed(late)).toBe('SIGKILL');
}, 30_000);
