// The harness's promise that a control plane leaves nothing behind: stop() ends every component
// and removes its temp dir, and leftovers of a run whose owner was SIGKILLed are reaped by the next
// start. A second, private control plane is started here for that (the shared one must stay up).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../harness/control-plane.js';
import { registryDir, reapOrphans } from '../../harness/processes.js';
import { kubectl } from '../../harness/kubectl.js';

// jest applies only the top-level testTimeout, not the integration project's: each block says its own.
const TIMEOUT = 120_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited child this process has not reaped yet is a zombie: gone for our purpose.
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

test('stop() ends every component and removes the temp dir', async () => {
  const cp = await ControlPlane.start();
  const components = cp.components();
  expect(components.map((c) => c.name)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
  const version = await kubectl(['version', '-o', 'json'], { kubeconfig: cp.kubeconfig });
  expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe('v1.36.1');
  expect(components.every((c) => alive(c.pid))).toBe(true);

  await cp.stop();
  expect(components.filter((c) => alive(c.pid))).toEqual([]);
  expect(existsSync(cp.dir)).toBe(false);
}, TIMEOUT);

test('leftovers of a dead owner are reaped; a live owner\'s are not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'autorun-cp-'));
  // A stand-in component whose command line points into the control plane's dir, as real ones do.
  const orphan = spawn('sleep', ['300', dir], { detached: true, stdio: 'ignore' });
  orphan.unref();
  // Not registered, but started with that control plane's kubeconfig (an operator a test started).
  const user = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, KUBECONFIG: join(dir, 'operator-x.kubeconfig') } });
  user.unref();
  // Pointing at a dir whose name merely starts with the dead one's: not its business.
  const neighbour = spawn('sleep', ['300'], { detached: true, stdio: 'ignore', env: { ...process.env, KUBECONFIG: `${dir}x/kubeconfig` } });
  neighbour.unref();
  const deadOwner = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
  const deadEntry = join(registryDir, `${deadOwner}-test-dead.json`);
  writeFileSync(deadEntry, JSON.stringify({ owner: Number(deadOwner), dir, pids: [orphan.pid] }));

  const liveDir = mkdtempSync(join(tmpdir(), 'autorun-cp-'));
  const liveEntry = join(registryDir, `${process.pid}-test-live.json`);
  writeFileSync(liveEntry, JSON.stringify({ owner: process.pid, dir: liveDir, pids: [] }));
  try {
    const reaped = reapOrphans();
    expect(reaped).toContain(dir);
    expect(reaped).not.toContain(liveDir);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(deadEntry)).toBe(false);
    expect(existsSync(liveDir)).toBe(true);
  } finally {
    spawnSync('rm', ['-rf', liveDir, liveEntry]);
  }
  // SIGKILL is asynchronous: give the kernel a moment.
  const deadline = Date.now() + 2000;
  while ((alive(orphan.pid!) || alive(user.pid!)) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
  expect(alive(orphan.pid!)).toBe(false);
  expect(alive(user.pid!)).toBe(false);
  expect(alive(neighbour.pid!)).toBe(true);
  neighbour.kill('SIGKILL');
}, TIMEOUT);
