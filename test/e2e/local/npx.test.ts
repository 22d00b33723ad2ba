// The README's quickstart command itself: `npx autorun run manifests/examples/local/fizzbuzz.yaml`
// from the repository root, resolved by npm to this package's own bin (package.json "bin"), then
// `npx autorun status`. --no-install makes npm fail rather than fetch a package named autorun.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeAnthropic, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { build, cliEnv, CORRECT, git, REPO_ROOT, scriptFor, testsFile, type CliRun } from './helpers.js';

beforeAll(() => build(), 120_000);

let fake: FakeAnthropic | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** A user's shell after `npm ci`: the repository's Node first on PATH, none of npm's script variables. */
function shellEnv(fakeUrl: string | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(cliEnv(fakeUrl)).filter(([k]) => !/^npm_/i.test(k)));
  env.PATH = `${join(REPO_ROOT, 'node_modules', '.bin')}:${env.PATH ?? ''}`;
  env.npm_config_update_notifier = 'false';
  return env;
}

function npx(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawn('npx', ['--no-install', 'autorun', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('npx autorun run <the quickstart example> from the repository root, then npx autorun status', async () => {
  const s = scriptFor({ code: CORRECT, tests: testsFile(), repair: () => CORRECT });
  fake = await startFakeAnthropic(s.script);
  // Only the state goes elsewhere, so that the test leaves the checkout as it found it.
  stateDir = mkdtempSync(join(tmpdir(), 'autorun-e2e-npx-'));
  const started = Date.now();
  const r = await npx(['run', 'manifests/examples/local/fizzbuzz.yaml', '--state-dir', stateDir], shellEnv(fake.url));
  const runMs = Date.now() - started;
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(r.stdout).toMatch(/^fizzbuzz +Succeeded +1 +5\/5 +\$\d+\.\d\d +\S+ +TestsPassed$/m);
  expect(s.stagesStarted).toEqual({ code: 1, test: 1, repair: 0 });
  expect(git(join(stateDir, 'fizzbuzz', 'repo'), 'show', 'autorun/fizzbuzz:fizzbuzz.py')).toBe(CORRECT.trim());

  const st = await npx(['status', '--state-dir', stateDir], shellEnv(undefined));
  expect(st.code).toBe(0);
  expect(st.stdout).toMatch(/^NAME +PHASE +ITER +TESTS +COST +ELAPSED +REASON$/m);
  expect(st.stdout).toMatch(/^fizzbuzz +Succeeded +1 +5\/5 /m);
  expect(st.stdout).toMatch(/^fizzbuzz: branch autorun\/fizzbuzz at [0-9a-f]{12}$/m);
  process.stderr.write(`[npx] run ${runMs} ms\n`);
}, 180_000);
