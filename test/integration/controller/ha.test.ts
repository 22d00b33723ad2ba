// Leader election and restarts. Two operator processes (the built `autorun operator`, as in the
// chart) share one Lease: only the leader creates Pods; SIGKILL the leader mid-task and the other
// takes over and finishes the task with no stage run twice. And in-process: a graceful stop releases
// the Lease so the follower takes over without waiting for it to expire.
import { jest } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from '../../../operator/src/controller/controller.js';
import { cliPath, repoRoot } from '../../harness/tools.js';
import { createTestNamespace, deleteNamespace, eventually, kube } from '../../harness/kube.js';
import { createL4Nodes, deleteNodes } from '../../harness/nodes.js';
import {
  Agents,
  createPool,
  createTask,
  deleteOperatorRbac,
  ensureCpuNodes,
  failingRun,
  operatorKubeConfig,
  startOperator,
  success,
  waitForPhase,
  type Script,
} from './support.js';

jest.setTimeout(240_000);

let ns: string;
let kubeconfigFile: string;
let agents: Agents | undefined;
let nodes: string[] = [];
const scripts = new Map<string, Script>();
const children: ChildProcess[] = [];

interface Replica {
  child: ChildProcess;
  identity: string;
  port: Promise<number>;
  log: string[];
}

/** `autorun operator` from dist/, as the ServiceAccount, with a fast Lease (3 s, renew every 0.5 s). */
function startReplica(identity: string): Replica {
  const cli = cliPath();
  const child = spawn(
    process.execPath,
    [cli, 'operator', `--namespace=${ns}`, `--leader-election-namespace=${ns}`, `--identity=${identity}`, '--lease-duration=3', '--renew-deadline=2', '--retry-period=0.5', '--port=0'],
    { env: { ...process.env, KUBECONFIG: kubeconfigFile, AUTORUN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(child);
  const log: string[] = [];
  let gotPort: (p: number) => void;
  const port = new Promise<number>((r) => (gotPort = r));
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      log.push(line);
      try {
        const j = JSON.parse(line) as { message?: string; port?: number };
        if (j.message === 'operator running' && typeof j.port === 'number') gotPort(j.port);
      } catch {
        /* not JSON */
      }
    }
  });
  return { child, identity, port, log };
}

async function metric(r: Replica, pattern: RegExp): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${await r.port}/metrics`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => pattern.test(l))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

async function leaseHolder(): Promise<string | undefined> {
  try {
    const l = await kube().coordination.readNamespacedLease({ namespace: ns, name: 'autorun-operator' });
    return l.spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  // The kill test runs the built binary; build it when it is missing (tsc emits despite errors elsewhere).
  if (!existsSync(cliPath()) || process.env.AUTORUN_REBUILD) {
    try {
      execFileSync(process.execPath, [join(repoRoot(), 'scripts', 'build.mjs')], { cwd: repoRoot(), stdio: 'ignore' });
    } catch {
      /* type errors in other files still emit JavaScript */
    }
  }
  ns = await createTestNamespace('ctl-ha');
  await ensureCpuNodes();
  nodes = await createL4Nodes({ count: 2, prefix: ns, isolate: true });
  ({ file: kubeconfigFile } = await operatorKubeConfig(ns));
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 2 });
  agents = new Agents(ns, (s) => scripts.get(s.task)?.(s) ?? { leave: true });
  await agents.start();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await agents?.stop();
  await deleteNodes(nodes).catch(() => undefined);
  await deleteOperatorRbac(ns);
  await deleteNamespace(ns);
});

test('two replicas: only the leader creates Pods; SIGKILL it mid-task and the other resumes with no stage run twice', async () => {
  const a = startReplica('replica-a');
  const b = startReplica('replica-b');
  const first = await eventually(async () => (await leaseHolder()) ?? false, { timeoutMs: 30_000 });
  const [leader, follower] = first === a.identity ? [a, b] : [b, a];

  // The run stage is left running until the leader is dead; it then fails, so the new leader must
  // hand the failure report to a repair stage and run the tests again.
  let killed = false;
  scripts.set('resume', (s) => {
    if (s.role === 'run' && s.iteration === 1) return killed ? { result: failingRun(s, ['test_x']) } : { leave: true };
    return { result: success(s) };
  });
  await createTask(ns, 'resume');
  const run1 = await eventually(() => agents!.stagesOf('resume').find((s) => s.role === 'run') ?? false, { timeoutMs: 60_000 });
  expect(await metric(follower, /^autorun_api_writes_total\{verb="create",resource="pods"/)).toBe(0);
  expect(await metric(leader, /^autorun_api_writes_total\{verb="create",resource="pods"/)).toBe(3);
  expect(await metric(follower, /^autorun_leader /)).toBe(0);

  leader.child.kill('SIGKILL');
  killed = true;
  const killedAt = Date.now();
  // The run Pod ends while no operator is leading.
  const { completePod } = await import('../../harness/kubelet.js');
  await completePod(ns, run1.name, { container: 'agent', terminationMessage: JSON.stringify(failingRun(run1, ['test_x'])) });

  await eventually(async () => (await leaseHolder()) === follower.identity, { timeoutMs: 30_000 });
  const takeoverMs = Date.now() - killedAt;
  const t = await waitForPhase(ns, 'resume', ['Succeeded', 'Failed'], 60_000);
  expect(t.status?.phase).toBe('Succeeded');
  // Every stage once: the Pod names the driver saw, the Pods in the cluster, and the status agree.
  const seen = agents!.stagesOf('resume').map((s) => s.name).sort();
  expect(seen).toEqual(['resume-i1-code-a0', 'resume-i1-run-a0', 'resume-i1-test-a0', 'resume-i2-repair-a0', 'resume-i2-run-a0']);
  expect(agents!.adds('resume')).toBe(seen.length);
  const pods = await kube().core.listNamespacedPod({ namespace: ns, labelSelector: 'autorun.dev/task=resume' });
  expect(pods.items.map((p) => p.metadata!.name).sort()).toEqual(seen);
  expect(t.status?.stages?.map((s) => s.name).sort()).toEqual(seen);
  expect(await metric(follower, /^autorun_api_writes_total\{verb="create",resource="pods"/)).toBe(2);
  process.stderr.write(`\nleader SIGKILLed: the follower held the lease after ${takeoverMs} ms (lease duration 3 s)\n`);
  follower.child.kill('SIGTERM');
  await new Promise((r) => follower.child.once('exit', r));
  expect(follower.child.exitCode).toBe(0);
  // A graceful stop released the Lease.
  expect(await leaseHolder()).toBeUndefined();
});

test('in-process: a graceful stop releases the Lease and the follower takes over at once', async () => {
  const { kc } = await operatorKubeConfig(ns);
  // Long lease: a takeover within it can only come from the release.
  const le = { namespace: ns, name: 'autorun-operator-inproc', leaseDurationSeconds: 30, renewDeadlineMs: 20_000, retryPeriodMs: 300 };
  const one: Controller = await startOperator(ns, kc, { identity: 'inproc-1', leaderElection: le });
  await eventually(() => one.isLeader(), { timeoutMs: 15_000 });
  const two: Controller = await startOperator(ns, kc, { identity: 'inproc-2', leaderElection: le });
  try {
    // Two tries at the Lease, both lost to the holder (a condition, not a wait of the clock).
    await eventually(() => two.leaseAttempts() >= 2, { timeoutMs: 15_000, intervalMs: 50 });
    expect(two.isLeader()).toBe(false);
    expect(two.hasSynced()).toBe(true);
    await one.stop();
    // Released, not left to expire: the stopped leader's name is off the Lease at once (the
    // follower may already hold it), and the follower takes over well within the lease.
    const lease = await kube().coordination.readNamespacedLease({ namespace: ns, name: le.name });
    expect(lease.spec?.holderIdentity ?? '').not.toBe('inproc-1');
    await eventually(() => two.isLeader(), { timeoutMs: 20_000, intervalMs: 50 });
    scripts.set('handover', (s) => ({ result: success(s) }));
    await createTask(ns, 'handover');
    const t = await waitForPhase(ns, 'handover', ['Succeeded', 'Failed']);
    expect(t.status?.phase).toBe('Succeeded');
    expect(one.metrics.tally(`${ns}/handover`).writes).toBe(0);
  } finally {
    await one.stop();
    await two.stop();
  }
});

test('/healthz, /readyz and /metrics answer', async () => {
  const { kc } = await operatorKubeConfig(ns);
  const c = await startOperator(ns, kc, { identity: 'probe', leaderElection: false });
  try {
    const base = `http://127.0.0.1:${c.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toContain('autorun_reconciles_total');
    expect(m).toContain('autorun_reconcile_duration_seconds_bucket');
    expect(m).toContain('autorun_workqueue_depth');
    expect(m).toMatch(/autorun_tasks\{phase="Succeeded"\} \d+/);
  } finally {
    await c.stop();
  }
});
