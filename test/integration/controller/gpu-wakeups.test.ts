// A freed GPU wakes only the tasks it can serve. Four tasks wait for the pool's one GPU while a
// fifth holds it; when it is freed, the first waiter in line is woken and takes it, and the other
// three are not reconciled at all. Counted once the operator is idle (conditions, not sleeps), so
// the counts do not depend on timing: every freed GPU used to re-queue every waiting task.
import { jest } from '@jest/globals';
import { AGENT_CONTAINER } from '../../../operator/src/controller/pods/build.js';
import { completePod } from '../../harness/kubelet.js';
import { eventually } from '../../harness/kube.js';
import { createPool, createTask, success, TestBed, waitForPhase, type Agents, type Script } from './support.js';

jest.setTimeout(180_000);

let bed: TestBed;
let ns: string;
let agents: Agents;
const scripts = new Map<string, Script>();

beforeAll(async () => {
  bed = await TestBed.create('ctl-gpuwake', scripts);
  ns = bed.ns;
  await bed.gpuNodes(1);
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 1, maxConcurrentTasks: 8 });
  agents = await bed.startAgents();
});

afterAll(() => bed?.tearDown());

test('four tasks wait for one GPU; freeing it wakes the first in line only', async () => {
  const operator = await bed.startOperator();
  // Run stages hold their GPU until the test finishes them; the other stages succeed at once.
  const script: Script = (s) => (s.role === 'run' ? { leave: true } : { result: success(s) });
  const waiters = ['w-0', 'w-1', 'w-2', 'w-3'];
  for (const n of ['holder', ...waiters]) scripts.set(n, script);

  await createTask(ns, 'holder');
  const run = (task: string) => agents.stagesOf(task).find((s) => s.role === 'run');
  await eventually(() => {
    if (!run('holder')) throw new Error('no run Pod for holder yet');
  });
  // One after another, so that their places in line are their creation order.
  for (const n of waiters) await createTask(ns, n);
  const waitingForGpu = (n: string) => operator.caches.task(ns, n)?.status?.conditions?.some((c) => c.type === 'Schedulable' && c.reason === 'WaitingForGPU') === true;
  await eventually(() => {
    const notYet = waiters.filter((n) => !waitingForGpu(n));
    if (notYet.length || !operator.idle()) throw new Error(`not waiting for the GPU yet: ${notYet.join(' ') || '(operator busy)'}`);
  });
  expect(waiters.filter((n) => run(n))).toEqual([]);
  const reconciles = () => Object.fromEntries(waiters.map((n) => [n, operator.metrics.tally(`${ns}/${n}`).reconciles]));
  const before = reconciles();

  await completePod(ns, run('holder')!.name, { container: AGENT_CONTAINER, timeoutMs: 60_000, terminationMessage: JSON.stringify(success(run('holder')!)) });
  await waitForPhase(ns, 'holder', ['Succeeded']);
  await eventually(() => {
    if (!run('w-0') || !operator.idle()) throw new Error('w-0 has not taken the GPU yet');
  });
  const after = reconciles();
  expect(after['w-0']! - before['w-0']!).toBeGreaterThan(0);
  expect({ 'w-1': after['w-1']! - before['w-1']!, 'w-2': after['w-2']! - before['w-2']!, 'w-3': after['w-3']! - before['w-3']! }).toEqual({ 'w-1': 0, 'w-2': 0, 'w-3': 0 });
  expect(waiters.filter((n) => run(n))).toEqual(['w-0']);

  // And the next freed GPU goes to the next in line: no wake-up is lost.
  await completePod(ns, run('w-0')!.name, { container: AGENT_CONTAINER, timeoutMs: 60_000, terminationMessage: JSON.stringify(success(run('w-0')!)) });
  await eventually(() => {
    if (!run('w-1') || !operator.idle()) throw new Error('w-1 has not taken the GPU yet');
  });
  const last = reconciles();
  expect({ 'w-2': last['w-2']! - before['w-2']!, 'w-3': last['w-3']! - before['w-3']! }).toEqual({ 'w-2': 0, 'w-3': 0 });
  expect(waiters.filter((n) => run(n))).toEqual(['w-0', 'w-1']);
});
