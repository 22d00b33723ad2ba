// A model outage as the agent process lives through it, with both engines (the built-in tool loop
// and the real Claude Code CLI) against the fake Messages API: a long run of 529s is ridden out; one
// that outlasts the pool's retry window ends the stage ModelUnavailable (the loop retries it);
// a 4xx still ends it at once. Counts come from the fake's own record of requests, never a clock.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { apiError, startFakeAnthropic, text, toolUse } from '../../fakes/anthropic-server.js';
import type { FakeAnthropic } from '../../fakes/anthropic-server.js';
import { ROOT, baseContext, build, expectContract, git, makeRemote, runAgent } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const KEY = 'sk-ant-e2e-outage-0123456789abcdef';
const CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
let fake: FakeAnthropic | undefined;
beforeAll(() => build(), 300_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const overloaded = (n: number) => Array.from({ length: n }, () => apiError(529, 'Overloaded', { 'retry-after-ms': '5' }));

test('sdk: twelve 529s in a row (three times what the SDK alone retried) are ridden out; the stage succeeds', async () => {
  const dir = tempDir('autorun-outage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  fake = await startFakeAnthropic([...overloaded(12), toolUse('write_file', { path: 'fizzbuzz.py', content: 'x = 1\n' }), text('done')]);
  const r = await runAgent(dir, baseContext(dir, 'code'), { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'code', outcome: 'Succeeded' });
  expect(fake.requests).toHaveLength(14);
  expect(git(dir, '--git-dir', remote, 'rev-parse', 'refs/autorun/fizz/code')).toBe(r.result.commit);
}, 60_000);

test('sdk: an outage past the retry window ends Error ModelUnavailable, exit 2, nothing pushed', async () => {
  const dir = tempDir('autorun-outage-');
  const remote = makeRemote(dir, { 'README.md': 'x\n' });
  fake = await startFakeAnthropic(() => apiError(529, 'Overloaded', { 'retry-after-ms': '5' }));
  const ctx = baseContext(dir, 'code');
  const r = await runAgent(dir, { ...ctx, model: { ...ctx.model, retryWindowSeconds: 1 } }, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.result).toMatchObject({ role: 'code', outcome: 'Error', reason: 'ModelUnavailable' });
  expect(r.result.summary).toMatch(/retry window \(1s, \d+ attempts, last: HTTP 529 Overloaded\)/);
  const retries = r.stdout.split('\n').filter((l) => l.includes('"event":"model-retry"')).length;
  expect(fake.requests).toHaveLength(retries + 1);
  expect(() => git(dir, '--git-dir', remote, 'rev-parse', '--verify', 'refs/autorun/fizz/code')).toThrow();
}, 60_000);

test('sdk: 404 fails at once with a clear reason, one request, no retry', async () => {
  const dir = tempDir('autorun-outage-');
  makeRemote(dir, { 'README.md': 'x\n' });
  fake = await startFakeAnthropic(() => apiError(404, 'model: claude-nope'));
  const r = await runAgent(dir, baseContext(dir, 'code'), { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url });
  expectContract(r);
  expect(r.result).toMatchObject({ outcome: 'Error', reason: 'NotFound' });
  expect(r.result.summary).toMatch(/404 \(NotFound\): the model or endpoint does not exist/);
  expect(fake.requests).toHaveLength(1);
}, 60_000);

describe('claude-code (the real CLI)', () => {
  beforeAll(() => {
    if (!existsSync(CLAUDE)) throw new Error(`${CLAUDE} is missing: npm install`);
  });
  const env = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake!.url, AUTORUN_CLAUDE_BIN: CLAUDE });

  test('an outage past the retry window: the engine stops the CLI, Error ModelUnavailable', async () => {
    const dir = tempDir('autorun-outage-');
    makeRemote(dir, { 'README.md': 'x\n' });
    fake = await startFakeAnthropic(() => apiError(529, 'Overloaded'));
    const ctx = baseContext(dir, 'code', { engine: 'claude-code' });
    const r = await runAgent(dir, { ...ctx, model: { ...ctx.model, retryWindowSeconds: 0 } }, env());
    expectContract(r);
    expect(r.result).toMatchObject({ role: 'code', outcome: 'Error', reason: 'ModelUnavailable' });
    expect(r.result.summary).toMatch(/unavailable for the 0s retry window \(last: HTTP 529\)/);
  }, 120_000);
});
