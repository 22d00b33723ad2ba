// Drives `autorun run` as a user would: the built CLI as a child process, in a scratch directory,
// against the fake Anthropic server, with real git and real pytest doing the work.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { messagesText, startFakeAnthropic, systemText, text, toolUse, type FakeAnthropic, type FakeReply, type RecordedRequest, type Script } from '../../fakes/anthropic-server.js';
import { chatText, chatTool, type OpenAIReply, type OpenAIRequest } from '../../fakes/openai-server.js';
import { cliPath } from '../../harness/tools.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = cliPath(REPO_ROOT);

/**
 * Builds dist/ once per test file. The tests start the CLI `npx autorun` runs (package.json "bin",
 * a launcher of the bundle), as `node dist/bundle/autorun.mjs`; npx.test.ts runs it through npx itself.
 * AUTORUN_E2E_SKIP_BUILD=1 uses dist/ as it is (after `make build`, or to test a patched build).
 */
export function build(): void {
  if (process.env.AUTORUN_E2E_SKIP_BUILD === '1' && existsSync(CLI)) return;
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

export type Role = 'code' | 'test' | 'repair';

function roleIn(system: string): Role {
  const m = /You are the (code|test|repair) agent/.exec(system);
  if (!m) throw new Error(`request from an unknown role: ${system.slice(0, 80)}`);
  return m[1] as Role;
}

export function roleOf(req: RecordedRequest): Role {
  return roleIn(systemText(req));
}

/** Did this request carry the result of a tool call (a later turn of the same stage)? */
function isFollowUp(req: RecordedRequest): boolean {
  const last = req.body.messages[req.body.messages.length - 1];
  return !!last && typeof last.content !== 'string' && last.content.some((b) => b.type === 'tool_result');
}

export const CORRECT = `def fizzbuzz(n):
    if n < 1:
        raise ValueError("n must be >= 1")
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
`;

/** Forgets FizzBuzz: 15 gives "Fizz". */
export const BUGGY = CORRECT.replace('    if n % 15 == 0:\n        return "FizzBuzz"\n', '');

export function testsFile(opts: { slowMarker?: string; slowSeconds?: number } = {}): string {
  const slow = opts.slowMarker
    ? `
def test_a_slow_one():
    # Appends one line per pytest run, then takes a while: the e2e test kills autorun meanwhile.
    with open(${JSON.stringify(opts.slowMarker)}, "a") as f:
        f.write("run\\n")
    time.sleep(${opts.slowSeconds ?? 4})
`
    : '';
  return `import time
import pytest
from fizzbuzz import fizzbuzz
${slow}
def test_numbers():
    assert fizzbuzz(1) == "1"
    assert fizzbuzz(7) == "7"

def test_fizz():
    assert fizzbuzz(9) == "Fizz"

def test_buzz():
    assert fizzbuzz(10) == "Buzz"

def test_fizzbuzz():
    assert fizzbuzz(15) == "FizzBuzz"

def test_rejects_zero():
    with pytest.raises(ValueError):
        fizzbuzz(0)
`;
}

/**
 * A directory a test inside the sandbox may write and the test outside reads (the slow test's
 * marker): commands and tests write nothing but their workspace unless AUTORUN_SANDBOX_WRITABLE says so.
 */
export function sharedDir(dir: string): { path: string; env: NodeJS.ProcessEnv } {
  const path = join(dir, 'shared');
  mkdirSync(path, { recursive: true });
  return { path, env: { AUTORUN_SANDBOX_WRITABLE: path } };
}

export interface Scenario {
  /** What the code agent writes. */
  code: string;
  /** What the repair agent writes; a function of how many repairs came before. */
  repair: (round: number) => string;
  tests: string;
}

/** The heading the repair role puts before the run's failure report in its prompt. */
export const REPORT_HEADING = 'Failure report of the last run:';
/** What pytest itself prints for BUGGY's failure: in the report, never in the goal or a test name. */
export const BUGGY_ASSERTION = "assert 'Fizz' == 'FizzBuzz'";

/** The part of a repair prompt from the report heading on ('' when there is none). */
export function reportSection(prompt: string): string {
  const at = prompt.indexOf(`${REPORT_HEADING}\n`);
  return at < 0 ? '' : prompt.slice(at);
}

type Step = { write: { path: string; content: string } } | { done: string };

/**
 * A model that writes one file per stage with a single tool call, then says it is done. Each
 * stage's first request is counted per role so a test can tell how many stages of each role really
 * ran. A repair prompt without the run's real failure report is refused (the stage then errors),
 * so every test that goes through a repair also proves the report reached the model.
 */
function scripted(s: Scenario) {
  const stagesStarted: Record<Role, number> = { code: 0, test: 0, repair: 0 };
  const step = (role: Role, followUp: boolean, prompt: string): Step => {
    if (followUp) return { done: `The ${role} work is done.` };
    const round = stagesStarted[role]++;
    if (role === 'test') return { write: { path: 'tests/test_fizzbuzz.py', content: s.tests } };
    if (role === 'code') return { write: { path: 'fizzbuzz.py', content: s.code } };
    if (!/test_fizzbuzz/.test(prompt)) throw new Error('the repair prompt does not name the failing test');
    if (!reportSection(prompt).includes(BUGGY_ASSERTION)) throw new Error('the repair prompt does not carry the failure report');
    return { write: { path: 'fizzbuzz.py', content: s.repair(round) } };
  };
  return { step, stagesStarted };
}

/** scripted() on the Anthropic Messages API (the fake Anthropic server). */
export function scriptFor(s: Scenario) {
  const { step, stagesStarted } = scripted(s);
  const script = (req: RecordedRequest): FakeReply => {
    const next = step(roleOf(req), isFollowUp(req), messagesText(req));
    return 'done' in next ? text(next.done, { input_tokens: 1200, output_tokens: 80 }) : toolUse('write_file', next.write);
  };
  return { script, stagesStarted };
}

/** scripted() on OpenAI-compatible chat completions (the fake vLLM). */
export function openAIScriptFor(s: Scenario) {
  const { step, stagesStarted } = scripted(s);
  const script = (req: OpenAIRequest): OpenAIReply => {
    const msgs = req.body.messages;
    const system = msgs.find((m) => m.role === 'system')?.content ?? '';
    const prompt = msgs.filter((m) => m.role === 'user').map((m) => m.content ?? '').join('\n');
    const next = step(roleIn(system), msgs.at(-1)?.role === 'tool', prompt);
    return 'done' in next ? chatText(next.done) : chatTool('write_file', next.write);
  };
  return { script, stagesStarted };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function scratch(task: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'autorun-e2e-local-'));
  const file = join(dir, 'task.yaml');
  writeFileSync(file, task);
  return { dir, file };
}

/**
 * The opening of a local e2e file: dist/ built once, and per test scratch directories and fake
 * servers that are gone after it (removed, closed) whether it passed or not.
 */
export function localE2E(): {
  workdir(task: string): { dir: string; file: string };
  fakeModel(script: Script): Promise<FakeAnthropic>;
  closeAfter<T extends { close(): Promise<void> }>(server: T): T;
} {
  beforeAll(() => build(), 120_000);
  const dirs: string[] = [];
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const closeAfter = <T extends { close(): Promise<void> }>(server: T): T => {
    servers.push(server);
    return server;
  };
  return {
    workdir(task) {
      const w = scratch(task);
      dirs.push(w.dir);
      return w;
    },
    fakeModel: async (script) => closeAfter(await startFakeAnthropic(script)),
    closeAfter,
  };
}

export function taskYaml(name: string, extra = ''): string {
  return `apiVersion: autorun.dev/v1alpha1
kind: CodingTask
metadata:
  name: ${name}
spec:
  goal: >-
    Implement fizzbuzz(n) in fizzbuzz.py: "Fizz" for multiples of 3, "Buzz" for multiples of 5,
    "FizzBuzz" for both, otherwise str(n); ValueError for n < 1.
${extra}`;
}

/** Environment of the CLI: ours without any real credentials, pointed at the fake. */
export function cliEnv(fakeUrl: string | undefined, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(ANTHROPIC_|AUTORUN_|OPENAI_|CUDA_VISIBLE_DEVICES$)/.test(k)) env[k] = v;
  if (fakeUrl) {
    env.ANTHROPIC_BASE_URL = fakeUrl;
    env.ANTHROPIC_API_KEY = 'sk-ant-e2e-not-a-real-key';
  }
  // No GPU here; make the run stages say so deterministically even on a machine with one.
  env.CUDA_VISIBLE_DEVICES = '';
  return { ...env, ...extra };
}

export function startCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return startCli(args, cwd, env).done;
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export function readState(dir: string, task: string): {
  status: { phase?: string; reason?: string; iteration?: number; tests?: { summary?: string }; result?: { branch?: string; commit?: string } };
  stages: { name: string; role: string; state: string; result?: { outcome: string }; failureReason?: string }[];
} {
  return JSON.parse(readFileSync(join(dir, '.autorun', 'state', `${task}.json`), 'utf8'));
}
