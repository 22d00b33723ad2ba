// The model key against the code it drives, with the agent program as a real process holding the key:
// a model's command (the sdk engine's run_command, Claude Code's own Bash) and a generated test run
// by the run stage try every way to the key a process of the same user has — env, printenv,
// /proc/self, /proc/1, /proc/$PPID and every /proc/*/environ, the home directory (an exported key in
// ~/.bashrc, a key file) and the key file a Pod mounts — and the key's bytes must appear nowhere:
// not in any request the fake model server received, nor the transcript, the result or the failure
// report. The same attack without the sandbox (AUTORUN_SANDBOX=off) does reach the key: the test
// fails when the sandbox does not hold.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFakeAnthropic, text, toolUse } from '../../fakes/anthropic-server.js';
import type { FakeAnthropic, RecordedRequest } from '../../fakes/anthropic-server.js';
import { ROOT, baseContext, build, expectContract, makeRemote, pushFiles, runAgent } from './harness.js';
import { tempDir } from '../../unit/agent/helpers.js';
import { pythonKeyHunt, shellKeyHunt } from '../../fixtures/key-hunt.js';

const CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');
let fake: FakeAnthropic | undefined;
beforeAll(() => build(), 300_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A home directory with the key where people keep it, and the Pod-style key file. */
function keyedHome(dir: string, key: string): { home: string; keyFile: string; env: Record<string, string> } {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.config', 'anthropic'), { recursive: true });
  writeFileSync(join(home, '.bashrc'), `export ANTHROPIC_API_KEY=${key}\n`);
  writeFileSync(join(home, '.config', 'anthropic', 'key'), key);
  mkdirSync(join(dir, 'secret-mount'));
  const keyFile = join(dir, 'secret-mount', 'api-key');
  writeFileSync(keyFile, key, { mode: 0o400 });
  return { home, keyFile, env: { HOME: home, AUTORUN_MODEL_API_KEY_FILE: keyFile } };
}

const everything = (reqs: RecordedRequest[]): string => JSON.stringify(reqs.map((r) => ({ headers: { ...r.headers, 'x-api-key': undefined, authorization: undefined }, body: r.body })));

describe.each([
  ['sandboxed', undefined],
  ['unsandboxed (the control: the attack is real)', 'off'],
] as const)('sdk engine, %s', (_label, sandbox) => {
  test.each(['file', 'env'] as const)('a model command that hunts for the key (key in a %s)', async (via) => {
    const dir = tempDir('autorun-isolation-');
    makeRemote(dir, { 'README.md': 'fizzbuzz\n' });
    const key = `sk-ant-isolation-${randomBytes(12).toString('hex')}`;
    const { home, keyFile, env } = keyedHome(dir, key);
    const ctx = baseContext(dir, 'code', { model: { provider: 'anthropic', name: 'claude-sonnet-4-6', maxTurns: 4 } });
    fake = await startFakeAnthropic([toolUse('run_command', { command: shellKeyHunt({ home, keyFile }) }), text('Done.')]);
    // file: as in a Pod (the Secret mount); env: as in the local tier, where `autorun run` and the agent hold it.
    const keyEnv = via === 'file' ? env : { HOME: home, ANTHROPIC_API_KEY: key };
    const run = await runAgent(dir, ctx, { ...keyEnv, ANTHROPIC_BASE_URL: fake.url, ...(sandbox ? { AUTORUN_SANDBOX: sandbox } : {}) });
    expectContract(run);
    // The key came from the file: the model was called with it.
    expect(JSON.stringify(fake.requests[0]!.headers)).toContain(key);
    const output = JSON.stringify(fake.requests[1]!.body.messages.at(-1)!.content);
    expect(output).toMatch(/DUMP-BEGIN.*PATH=.*DUMP-END/);
    if (sandbox === 'off') {
      // From the agent's own environment (/proc/$PPID) when it holds the key there, else the files.
      expect(output).toContain(via === 'env' ? `ANTHROPIC_API_KEY=${key}` : key);
      return;
    }
    expect(everything(fake.requests)).not.toContain(key);
    expect(run.stdout + run.stderr + run.raw).not.toContain(key);
  }, 120_000);
});

describe.each([
  ['sandboxed', undefined],
  ['unsandboxed (the control: the attack is real)', 'off'],
] as const)("Claude Code's Bash, %s", (_label, sandbox) => {
  test('a Bash command that hunts for the key', async () => {
    const dir = tempDir('autorun-isolation-');
    makeRemote(dir, { 'README.md': 'fizzbuzz\n' });
    const key = `sk-ant-isolation-${randomBytes(12).toString('hex')}`;
    const { home, keyFile } = keyedHome(dir, key);
    const ctx = baseContext(dir, 'code', { engine: 'claude-code', model: { provider: 'anthropic', name: 'claude-sonnet-4-5', maxTurns: 4 } });
    fake = await startFakeAnthropic([toolUse('Bash', { command: shellKeyHunt({ home, keyFile }), description: 'look around' }), text('Done.')]);
    // As the local tier runs it: the key in the agent's environment, which Claude Code inherits.
    const run = await runAgent(dir, ctx, { HOME: home, ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: fake.url, AUTORUN_CLAUDE_BIN: CLAUDE, ...(sandbox ? { AUTORUN_SANDBOX: sandbox } : {}) });
    expectContract(run);
    expect(fake.requests[0]!.headers['x-api-key']).toBe(key);
    const output = JSON.stringify(fake.requests[1]!.body.messages.at(-1)!.content);
    expect(output).toMatch(/DUMP-BEGIN.*PATH=.*DUMP-END/);
    if (sandbox === 'off') {
      expect(output).toContain(`ANTHROPIC_API_KEY=${key}`);
      return;
    }
    expect(output).not.toMatch(/is_error":true/);
    expect(everything(fake.requests)).not.toContain(key);
    expect(run.stdout + run.stderr + run.raw).not.toContain(key);
  }, 120_000);
});

describe.each([
  ['sandboxed', undefined],
  ['unsandboxed (the control: the attack is real)', 'off'],
] as const)('run stage, %s', (_label, sandbox) => {
  test('a generated test that hunts for the key and the network', async () => {
    const dir = tempDir('autorun-isolation-');
    const remote = makeRemote(dir, { 'README.md': 'fizzbuzz\n' });
    const key = `sk-ant-isolation-${randomBytes(12).toString('hex')}`;
    const { home, keyFile } = keyedHome(dir, key);
    // Something to connect to: the fake model server on loopback.
    fake = await startFakeAnthropic([]);
    const port = Number(new URL(fake.url).port);
    pushFiles(dir, remote, 'refs/autorun/fizz/code', { 'm.py': 'x = 1\n' });
    pushFiles(dir, remote, 'refs/autorun/fizz/tests', { 'test_hunt.py': pythonKeyHunt({ home, keyFile }, port) });
    const reportPath = join(dir, 'report.json');
    // The run agent holds no key itself (the local tier scrubs it); its parent does, as `autorun run` does.
    const ctx = baseContext(dir, 'run', { reportPath });
    const run = await runAgent(dir, ctx, { HOME: home, ...(sandbox ? { AUTORUN_SANDBOX: sandbox } : {}) }, { parentEnv: { ANTHROPIC_API_KEY: key } });
    expectContract(run);
    expect(run.result).toMatchObject({ role: 'run', outcome: 'Failed', reason: 'TestsFailed' });
    const report = readFileSync(reportPath, 'utf8');
    expect(report).toMatch(/DUMP-BEGIN[\s\S]*PATH=[\s\S]*DUMP-END/);
    if (sandbox === 'off') {
      expect(report).toContain(key);
      expect(report).toContain('NET-REACHED');
      return;
    }
    expect(report).toContain('NET-BLOCKED');
    expect(report + run.stdout + run.stderr + run.raw).not.toContain(key);
  }, 120_000);
});
