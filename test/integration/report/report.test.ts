// `autorun report` from a CodingTask in the cluster: the built CLI, with a kubeconfig as kubectl
// finds it, on a task the real operator repaired on the real apiserver. The page (checked in a real
// Chromium, offline) has the stages of the task's status and the failure report the repair Pod was
// given, read from the task's report ConfigMap.
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportConfigMapName } from '../../../operator/src/controller/pods/report.js';
import { openOffline } from '../../harness/browser.js';
import { kube } from '../../harness/kube.js';
import { cliPath } from '../../harness/tools.js';
import { createPool, createTask, failingRun, success, TestBed, waitForPhase, type Script } from '../controller/support.js';

jest.setTimeout(180_000);

const scripts = new Map<string, Script>();
let bed: TestBed;
let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'autorun-report-'));
  bed = await TestBed.create('report', scripts);
  await bed.gpuNodes(1);
  await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 1 });
  scripts.set('fixed', (s) => (s.role === 'run' && s.iteration === 1 ? { result: failingRun(s, ['test_fizz', 'test_buzz'], 6) } : { result: success(s, 0.05) }));
  await bed.startAgents();
  await bed.startOperator();
  await createTask(bed.ns, 'fixed');
  await waitForPhase(bed.ns, 'fixed', ['Succeeded', 'Failed']);
});

afterAll(async () => {
  await bed?.tearDown();
  rmSync(out, { recursive: true, force: true });
});

function report(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath(), 'report', ...args], { encoding: 'utf8', env: { ...process.env }, cwd: out });
  return { code: r.status, stderr: r.stderr };
}

test('the page shows the task as the cluster has it, and the failure report its repair Pod got', async () => {
  const task = (await kube().custom.getNamespacedCustomObject({ group: 'autorun.dev', version: 'v1alpha1', namespace: bed.ns, plural: 'codingtasks', name: 'fixed' })) as {
    status: { phase: string; iteration: number; stages: unknown[] };
  };
  expect(task.status).toMatchObject({ phase: 'Succeeded', iteration: 2 });
  const cm = await kube().core.readNamespacedConfigMap({ namespace: bed.ns, name: reportConfigMapName('fixed', 2) });
  expect(cm.data?.['report.json']).toContain('test_fizz');

  const r = report(['fixed', '--namespace', bed.ns, '-o', 'fixed.html']);
  expect(r).toEqual({ code: 0, stderr: 'wrote fixed.html\n' });
  const file = join(out, 'fixed.html');
  expect(readFileSync(file, 'utf8')).toContain(`namespace ${bed.ns}`);
  const { page, requests, close } = await openOffline(file);
  try {
    expect(requests).toEqual([]);
    expect(await page.locator('svg.gantt g.stage').count()).toBe(task.status.stages.length);
    expect(await page.locator('g.iteration-tests').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-passed')}/${g.getAttribute('data-total')}`))).toEqual(['4/6', '10/10']);
    const repair = page.locator('section.repair[data-iteration="2"]');
    expect(await repair.locator('.repair-counts').innerText()).toBe('2 failed, 4 passed of 6');
    // kwok serves no logs, so the ConfigMap holds the operator's note naming the failing tests.
    expect(await repair.textContent()).toContain(cm.data!['report.json']!.slice(0, 40));
    // Cost: 0.05 for each of code, test and repair.
    expect(await page.locator('tr.role-cost[data-role="repair"]').innerText()).toContain('$0.05');
    expect(await page.locator('dd.branch').innerText()).toMatch(/^autorun\/fixed/);
  } finally {
    await close();
  }
});

test('a task that is not there is named with its namespace, exit 1', () => {
  expect(report(['nope', '--namespace', bed.ns])).toEqual({ code: 1, stderr: `autorun report: no CodingTask nope in namespace ${bed.ns}\n` });
});
