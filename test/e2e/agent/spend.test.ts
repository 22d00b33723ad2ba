// A stage stopped mid-work still reports what it spent: the agent process, SIGTERMed while its
// second model call hangs (the task hit its cost cap, Ctrl-C, the Pod deleted), writes outcome Error
// reason Stopped with the usage of the calls the API did bill, which equals the fake's own tally.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageResult } from '../../../operator/src/api/types.js';
import { contextToEnv } from '../../../operator/src/agent/context.js';
import { costUSD } from '../../../operator/src/agent/pricing.js';
import { billedUSD, startFakeAnthropic, toolUse, type FakeAnthropic } from '../../fakes/anthropic-server.js';
import { CLI, ROOT, baseContext, build, makeRemote } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';

const KEY = 'sk-ant-e2e-spend-0123456789abcdef';
let fake: FakeAnthropic | undefined;
beforeAll(() => build(), 300_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

test('SIGTERM during a model call: the termination message carries the billed usage, reason Stopped', async () => {
  const dir = tempDir('autorun-spend-');
  makeRemote(dir, { 'README.md': 'x\n' });
  // The first call is billed; the second never answers, as a call cut off by the stop.
  fake = await startFakeAnthropic((_req, i) => (i === 0 ? toolUse('list_files', {}, { usage: { input_tokens: 40_000, output_tokens: 3_000 } }) : { kind: 'hang' }));
  const ctx = baseContext(dir, 'code');
  const agent = spawn(process.execPath, [CLI, 'agent', '--role', 'code'], {
    cwd: dir,
    env: { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, HOME: process.env.HOME ?? dir, ...contextToEnv(ctx), ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fake.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => agent.on('close', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (fake.requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(fake.requests).toHaveLength(2);
  agent.kill('SIGTERM');
  expect(await exited).toBe(143);
  const result = JSON.parse(readFileSync(ctx.terminationPath, 'utf8')) as StageResult;
  expect(result).toMatchObject({ role: 'code', outcome: 'Error', reason: 'Stopped', usage: { inputTokens: 40_000, outputTokens: 3_000 } });
  expect(result.usage!.costUSD).toBeCloseTo(billedUSD(fake, costUSD), 6);
  expect(result.usage!.costUSD).toBeGreaterThan(0);
}, 90_000);
