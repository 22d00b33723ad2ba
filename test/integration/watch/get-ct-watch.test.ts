// What a user watching `kubectl get codingtasks -w` sees while the operator drives a task through
// code → test → run → repair → run: the printer columns advance (phase, iteration, tests, cost).
// Real kubectl, real apiserver, the operator in-process as its own ServiceAccount.
import { spawn, type ChildProcess } from 'node:child_process';
import { jest } from '@jest/globals';
import type { Controller } from '../../../operator/src/controller/controller.js';
import { createTestNamespace, deleteNamespace, eventually } from '../../harness/kube.js';
import { createL4Nodes, deleteNodes } from '../../harness/nodes.js';
import { tool } from '../../harness/tools.js';
import {
  Agents, createPool, createTask, deleteOperatorRbac, ensureCpuNodes, failingRun, operatorKubeConfig, startOperator, success, waitForPhase,
} from '../controller/support.js';

jest.setTimeout(180_000);

let ns: string;
let operator: Controller | undefined;
let agents: Agents | undefined;
let watcher: ChildProcess | undefined;
let gpuNodes: string[] = [];

afterAll(async () => {
  watcher?.kill('SIGTERM');
  await operator?.stop();
  await agents?.stop();
  await deleteNodes(gpuNodes).catch(() => undefined);
  if (ns) {
    await deleteOperatorRbac(ns);
    await deleteNamespace(ns);
  }
});

test('kubectl get ct -w shows phase, iteration, tests and cost advancing', async () => {
  ns = await createTestNamespace('watch');
  await ensureCpuNodes();
  gpuNodes = await createL4Nodes({ count: 2, prefix: ns, isolate: true });
  const { kc } = await operatorKubeConfig(ns);
  await createPool(ns, { isolationPrefix: ns, gpuLimit: 2, maxConcurrentTasks: 4 });
  // Each agent takes a moment, as real ones do, so every phase is visible to the watch.
  agents = new Agents(ns, (s) => {
    if (s.role === 'run' && s.iteration === 1) return { result: failingRun(s, ['test_fizz', 'test_buzz']), delayMs: 400 };
    return { result: success(s, 0.12), delayMs: 400 };
  });
  await agents.start();

  let out = '';
  watcher = spawn(tool('kubectl'), ['get', 'codingtasks', '-w', '-n', ns], { env: { ...process.env } });
  watcher.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  await eventually(() => expect(out).toMatch(/No resources found|NAME/), { timeoutMs: 15_000 }).catch(() => undefined);

  operator = await startOperator(ns, kc);
  await createTask(ns, 'fizzbuzz');
  await waitForPhase(ns, 'fizzbuzz', ['Succeeded', 'Failed'], 90_000);
  await eventually(() => expect(out).toMatch(/fizzbuzz\s+Succeeded/), { timeoutMs: 15_000 });

  const rows = out.split('\n').filter((l) => l.startsWith('fizzbuzz')).map((l) => l.trim().split(/\s+/));
  process.stderr.write(`\nkubectl get ct -w:\n${out}\n`);
  expect(out.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+ITER\s+TESTS\s+COST\s+AGE/);
  const phases = rows.map((r) => r[1]);
  const order = ['Coding', 'Running', 'Repairing', 'Succeeded'];
  const firstSeen = order.map((p) => phases.indexOf(p));
  expect(firstSeen.every((i) => i >= 0)).toBe(true);
  expect([...firstSeen].sort((a, b) => a - b)).toEqual(firstSeen);
  // Iteration 2 repairs the 8/10 run; 10/10 at the end; cost only grows.
  const final = rows[rows.length - 1]!;
  expect(final.slice(1, 5)).toEqual(['Succeeded', '2', '10/10', expect.stringMatching(/^\$0\.\d\d$/)]);
  expect(rows.some((r) => r[1] === 'Repairing' && r[2] === '2' && r[3] === '8/10')).toBe(true);
  const costs = rows.map((r) => r.find((c) => c.startsWith('$'))).filter(Boolean).map((c) => Number(c!.slice(1)));
  expect(costs.length).toBeGreaterThan(1);
  expect(costs).toEqual([...costs].sort((a, b) => a - b));
  expect(costs[costs.length - 1]!).toBeGreaterThan(costs[0]!);
});
