// `autorun report` on a real local run (a task that needs a repair: real pytest, real git, the fake
// model), opened in a real headless Chromium with the network off: the page asks for nothing, and
// shows a bar per stage, the tests of each iteration, the cost by role and by stage, the failure the
// repair got (pytest's own assertion) and the branch. AUTORUN_REPORT_SCREENSHOT=FILE keeps the
// screenshot (docs/report.png, which the README shows, was made so).
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { openOffline } from '../../harness/browser.js';
import { BUGGY, BUGGY_ASSERTION, build, cliEnv, CORRECT, readState, runCli, scratch, scriptFor, taskYaml, testsFile } from './helpers.js';

beforeAll(() => build(), 120_000);

let fake: FakeAnthropic | undefined;
let dir: string | undefined;
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

test('the report of a repaired task opens offline in Chromium and shows the stages, tests, cost, repair and branch', async () => {
  const s = scriptFor({ code: BUGGY, tests: testsFile(), repair: () => CORRECT });
  fake = await startFakeAnthropic(s.script);
  dir = scratch(taskYaml('fizzbuzz')).dir;
  const r = await runCli(['run', 'task.yaml'], dir, cliEnv(fake.url));
  expect(r.code).toBe(0);
  const state = readState(dir, 'fizzbuzz');
  expect(state.status).toMatchObject({ phase: 'Succeeded', iteration: 2 });

  const rep = await runCli(['report', 'fizzbuzz', '--state-dir', '.autorun', '-o', 'report.html'], dir, cliEnv(undefined));
  expect({ code: rep.code, stderr: rep.stderr }).toEqual({ code: 0, stderr: 'wrote report.html\n' });
  const file = join(dir, 'report.html');
  const html = readFileSync(file, 'utf8');
  expect(html).not.toContain('sk-ant-e2e-not-a-real-key');

  const { page, requests, close } = await openOffline(file);
  try {
    expect(requests).toEqual([]);
    expect(await page.title()).toBe('autorun report: fizzbuzz');
    // The timeline: one bar per recorded stage, each with its role, drawn with a width.
    const bars = page.locator('svg.gantt g.stage');
    expect(await bars.count()).toBe(state.stages.length);
    expect((await bars.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-role')))).sort()).toEqual(['code', 'repair', 'run', 'run', 'test']);
    expect(await page.locator('svg.gantt g.stage[data-state="Failed"]').count()).toBe(1);
    const widths = await page.locator('svg.gantt rect.stage-bar').evaluateAll((rs) => rs.map((x) => x.getBoundingClientRect().width));
    expect(widths.every((w) => w >= 2)).toBe(true);
    // Tests per iteration: 4 of 5, then 5 of 5 (testsFile has five tests, BUGGY fails one).
    const perIteration = await page.locator('g.iteration-tests').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-iteration')}:${g.getAttribute('data-passed')}/${g.getAttribute('data-total')}`));
    expect(perIteration).toEqual(['1:4/5', '2:5/5']);
    // Cost by role and by stage; the total on the card is the status' own figure.
    expect((await page.locator('tr.role-cost').evaluateAll((rs) => rs.map((x) => x.getAttribute('data-role')))).sort()).toEqual(['code', 'repair', 'run', 'test']);
    expect(await page.locator('tr.stage-cost').count()).toBe(state.stages.length);
    const total = JSON.parse(readFileSync(join(dir, '.autorun', 'state', 'fizzbuzz.json'), 'utf8')).status.cost.totalUSD as string;
    expect(await page.locator('.card', { hasText: 'total cost' }).innerText()).toContain(`$${Number(total).toFixed(2)}`);
    // The repair got pytest's report of iteration 1: counts, the failing test and its assertion.
    const repair = page.locator('section.repair[data-iteration="2"]');
    expect(await repair.locator('.repair-counts').innerText()).toBe('1 failed, 4 passed of 5');
    expect(await repair.innerText()).toContain('tests/test_fizzbuzz.py::test_fizzbuzz');
    // textContent: the trace may sit in a closed <details>.
    expect(await repair.textContent()).toContain(BUGGY_ASSERTION);
    expect(await page.locator('dd.branch').innerText()).toMatch(/^autorun\/fizzbuzz at [0-9a-f]{12}$/);

    const png = await page.screenshot({ fullPage: true });
    const size = pngSize(png);
    expect(size.width).toBe(1100);
    // The whole page, not a blank first screen: every section is in the picture.
    // Measured before any scrolling: the page is at its top after loading.
    const bottom = await page.locator('footer').evaluate((f) => f.getBoundingClientRect().bottom);
    expect(size.height).toBeGreaterThanOrEqual(Math.floor(bottom));
    if (process.env.AUTORUN_REPORT_SCREENSHOT) {
      const tmp = join(dir, 'report.png');
      await page.screenshot({ path: tmp, fullPage: true });
      copyFileSync(tmp, process.env.AUTORUN_REPORT_SCREENSHOT);
    }
  } finally {
    await close();
  }
}, 240_000);

test('report says what is wrong: an unknown task, both sources at once, no task named', async () => {
  const d = scratch('').dir;
  try {
    const unknown = await runCli(['report', 'nope', '--state-dir', '.autorun'], d, cliEnv(undefined));
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(/^autorun report: no task nope in \.autorun\/state\n$/) });
    const both = await runCli(['report', 'x', '--state-dir', '.autorun', '--namespace', 'a'], d, cliEnv(undefined));
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--state-dir \(a local run\) and --namespace \(the cluster\) exclude each other/);
    const none = await runCli(['report'], d, cliEnv(undefined));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/name one task/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}, 60_000);
