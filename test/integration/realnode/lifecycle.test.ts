// The real node's promise to leave the machine as it found it: a second cluster (`make cluster`'s
// cluster-cli, in a child process, so on a slot of its own) runs a Pod on its real node; stopped with
// SIGINT it removes its bridge, cgroups and dirs; SIGKILLed it leaves them, and the next claim of a
// slot reaps them (containers included).
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, kubectlOk } from '../../harness/kubectl.js';
import { reapOrphans } from '../../harness/processes.js';
import { PAUSE_IMAGE, REAL_NODE_LABEL, RealNode } from '../../harness/real-node.js';
import { repoRoot } from '../../harness/tools.js';
import { eventually } from '../../harness/kube.js';

jest.setTimeout(240_000);

const CGROUPS = '/sys/fs/cgroup';

interface Second {
  child: ChildProcess;
  kubeconfig: string;
  slot: number;
  bridge: string;
  nodeDir: string;
}

function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

function cgroupDirs(slot: number): string[] {
  return readdirSync(CGROUPS).map((h) => join(CGROUPS, h, `autorun-node-${slot}`)).filter(existsSync);
}

/** Still running: a killed process whose parent is gone may linger as a zombie until init reaps it. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function procsUnder(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    out.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

async function startSecond(): Promise<Second> {
  const cli = join(repoRoot(), 'dist', 'test', 'harness', 'cluster-cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run make build (make test does)`);
  // No project images: the pause image is all the Pod below needs, and a slot's import costs ~30 s.
  const child = spawn(process.execPath, [cli, 'up', '--nodes=0'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, AUTORUN_IMAGES_DIR: '' } });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await eventually(() => {
    if (child.exitCode !== null) throw new Error(`cluster-cli exited ${child.exitCode}: ${out}`);
    if (!out.includes('Ctrl-C stops it.')) throw new Error('not up yet');
    return true;
  }, { timeoutMs: 180_000, intervalMs: 200 });
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)![1]!;
  const ip = /at (10\.245\.(\d+)\.1);/.exec(out)!;
  const socket = /ctr --address (\S+)\/containerd\.sock/.exec(out)![1]!;
  return { child, kubeconfig, slot: Number(ip[2]), bridge: `autorun-br${ip[2]}`, nodeDir: socket };
}

/** A Pod on the second cluster's real node (the pause image is all its containerd has). */
async function runPod(s: Second): Promise<void> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sleeper', namespace: 'default' },
    spec: {
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      tolerations: [{ key: REAL_NODE_LABEL, operator: 'Exists' }],
      containers: [{ name: 'c', image: PAUSE_IMAGE }],
    },
  };
  await kubectlOk(['apply', '-f', '-'], { kubeconfig: s.kubeconfig, input: JSON.stringify(pod) });
  await kubectlOk(['wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=120s'], { kubeconfig: s.kubeconfig, timeoutMs: 130_000 });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

test('SIGINT: the bridge, the cgroups, the containers and the node dir are gone', async () => {
  const s = await startSecond();
  await runPod(s);
  const containers = [...new Set(cgroupDirs(s.slot).flatMap(procsUnder))];
  expect({ bridge: linkExists(s.bridge), cgroups: cgroupDirs(s.slot).length > 0, containers: containers.length > 0, dir: existsSync(s.nodeDir) })
    .toEqual({ bridge: true, cgroups: true, containers: true, dir: true });
  s.child.kill('SIGINT');
  expect(await exited(s.child)).toBe(0);
  expect({ bridge: linkExists(s.bridge), cgroups: cgroupDirs(s.slot), dir: existsSync(s.nodeDir), alive: containers.filter(running) })
    .toEqual({ bridge: false, cgroups: [], dir: false, alive: [] });
});

test('SIGKILL: everything stays until the next claim of a slot reaps it', async () => {
  const s = await startSecond();
  await runPod(s);
  const containers = [...new Set(cgroupDirs(s.slot).flatMap(procsUnder))];
  process.kill(s.child.pid!, 'SIGKILL');
  await exited(s.child);
  expect({ bridge: linkExists(s.bridge), cgroups: cgroupDirs(s.slot).length > 0 }).toEqual({ bridge: true, cgroups: true });

  const claim = RealNode.claim();
  RealNode.release(claim);
  // The dead run's control plane, as its next start would.
  reapOrphans();
  await eventually(() => {
    const alive = containers.filter(running);
    if (alive.length) throw new Error(`containers still alive: ${alive.join(', ')}`);
    return true;
  }, { timeoutMs: 10_000 });
  expect({ bridge: linkExists(s.bridge), cgroups: cgroupDirs(s.slot), dir: existsSync(s.nodeDir) }).toEqual({ bridge: false, cgroups: [], dir: false });
  const version = await kubectl(['version'], { kubeconfig: s.kubeconfig, timeoutMs: 5000 });
  expect(version.code).not.toBe(0);
});
