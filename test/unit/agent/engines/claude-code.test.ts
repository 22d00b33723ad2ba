// The claude-code engine's process plumbing, with a stand-in `claude` (a shell script that checks its
// arguments and environment and replays recorded stream-json). The real CLI runs in
// test/e2e/agent/claude-code-real.test.ts.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentialVars } from '../../../../operator/src/agent/credentials.js';
import { claudeArgs, claudeCodeEngine, claudeModelEnv } from '../../../../operator/src/agent/engines/claude-code.js';
import { withBudget } from '../../../../operator/src/agent/engines/budget.js';
import type { EngineRequest } from '../../../../operator/src/agent/engines/types.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

function fakeClaude(dir: string): string {
  const bin = join(dir, 'claude');
  writeFileSync(
    bin,
    `#!/bin/sh
# arguments and environment the engine must pass
echo "$@" > "${dir}/argv"
env > "${dir}/env"
printf '%s\\n' '{"type":"system","subtype":"init","session_id":"s1"}'
printf '%s\\n' '{"type":"assistant","message":{"content":[{"type":"text","text":"working"}]},"session_id":"s1"}'
printf '%s\\n' '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"Done: wrote a.py\\nFLAG_TEST: tests/t.py::test_x - wrong","session_id":"s1","total_cost_usd":0.02,"usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":5,"cache_creation_input_tokens":7}}'
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

/** A request to the engine working in `dir` with `bin` as claude and a key; `o` replaces any part. */
function request(dir: string, bin: string, o: Partial<EngineRequest> = {}): EngineRequest {
  return {
    system: 's',
    prompt: 'p',
    tools: [],
    claudeTools: ['Read'],
    model: model(),
    workspace: dir,
    env: { PATH: process.env.PATH, AUTORUN_CLAUDE_BIN: bin, ANTHROPIC_API_KEY: 'k' },
    transcript: recordingTranscript().transcript,
    ...o,
  };
}

test('runs claude -p with stream-json, the role tools and a private HOME; maps the result', async () => {
  const dir = tempDir();
  const bin = fakeClaude(dir);
  const { transcript, lines } = recordingTranscript(['sk-ant-claude-key-123']);
  const res = await claudeCodeEngine({
    system: 'SYSTEM',
    prompt: 'PROMPT',
    tools: [],
    claudeTools: ['Read', 'Write'],
    model: model({ maxTurns: 9 }),
    workspace: dir,
    env: { PATH: process.env.PATH, AUTORUN_CLAUDE_BIN: bin, ANTHROPIC_API_KEY: 'sk-ant-claude-key-123', AUTORUN_GIT_TOKEN: 'ghp_secret', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
    transcript,
  });
  expect(res).toMatchObject({ outcome: 'Succeeded', summary: 'Done: wrote a.py', turns: 1, usage: { costUSD: 0.02, cacheWriteTokens: 7 } });
  const { readFileSync } = await import('node:fs');
  const argv = readFileSync(join(dir, 'argv'), 'utf8');
  expect(argv).toContain(
    '-p PROMPT --output-format stream-json --verbose --max-turns 9 --permission-mode acceptEdits --tools Read,Write --allowedTools Read,Write --append-system-prompt SYSTEM --model claude-sonnet-4-6 --no-session-persistence',
  );
  const env = readFileSync(join(dir, 'env'), 'utf8');
  expect(env).toContain('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1');
  expect(env).toContain('ANTHROPIC_BASE_URL=http://127.0.0.1:9');
  expect(env).not.toContain('ghp_secret');
  expect(env).toMatch(/HOME=.*autorun-claude-home-/);
  expect(env).toMatch(/TMPDIR=.*autorun-claude-home-.*\/tmp/);
  expect(lines.some((l) => l.includes('"event":"claude"'))).toBe(true);
});

test('a missing binary is an engine crash with a clear summary', async () => {
  const dir = tempDir();
  const res = await claudeCodeEngine(request(dir, join(dir, 'no-such-claude'), { claudeTools: [] }));
  expect(res).toMatchObject({ outcome: 'Error', reason: 'EngineCrashed' });
  expect(res.summary).toMatch(/cannot start/);
});

test('a 401 retry notice stops the session at once instead of sitting out its backoff', async () => {
  const dir = tempDir();
  const bin = join(dir, 'claude');
  // As the real CLI does: it announces each retry, even of a 401, then sleeps (here with a child).
  writeFileSync(
    bin,
    // The child is started (and its pid written) before the notice, so the engine's kill races nothing.
    `#!/bin/sh
sleep 3600 &
echo $! > "${dir}/child.pid"
printf '%s\\n' '{"type":"system","subtype":"init","session_id":"s2"}'
printf '%s\\n' '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":600,"error_status":401,"error":"authentication_failed","session_id":"s2"}'
wait
`,
  );
  chmodSync(bin, 0o755);
  // The fake CLI's backoff outlasts this test's timeout: a result at all means the engine stopped it.
  const res = await claudeCodeEngine(request(dir, bin));
  expect(res).toMatchObject({ outcome: 'Error', reason: 'Unauthorized' });
  expect(res.summary).toMatch(/model API 401 .*authentication_failed/);
  const { readFileSync } = await import('node:fs');
  const sleeper = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
  // Gone, or a zombie: a killed orphan stays one until init reaps it.
  const alive = (() => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${sleeper}/stat`, 'utf8'));
    } catch {
      return false;
    }
  })();
  expect(alive).toBe(false);
}, 60_000);

test('529 retry notices past the pool\'s retry window stop the session: ModelUnavailable, the CLI told to keep retrying', async () => {
  const dir = tempDir();
  const bin = join(dir, 'claude');
  // The CLI retries an overload and announces each retry; this one would go on for ever.
  writeFileSync(
    bin,
    `#!/bin/sh
env > "${dir}/env"
printf '%s\\n' '{"type":"system","subtype":"init","session_id":"s3"}'
while :; do
  printf '%s\\n' '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10000,"retry_delay_ms":50,"error_status":529,"error":"overloaded","session_id":"s3"}'
  sleep 0.05
done
`,
  );
  chmodSync(bin, 0o755);
  const res = await claudeCodeEngine(request(dir, bin, { model: model({ retryWindowSeconds: 0 }) }));
  expect(res).toMatchObject({ outcome: 'Error', reason: 'ModelUnavailable' });
  expect(res.summary).toMatch(/unavailable for the 0s retry window \(last: HTTP 529\)/);
  expect(readFileSync(join(dir, 'env'), 'utf8')).toMatch(/^CLAUDE_CODE_MAX_RETRIES=10000$/m);
});

// The real CLI cannot reach Vertex AI offline, so this checks the env it is started with: Claude
// Code's documented Vertex switches, Google ADC for auth, and no Anthropic key.
test('provider vertex starts claude in Vertex mode with the Pod region and project and no API key', async () => {
  const dir = tempDir();
  const bin = fakeClaude(dir);
  const res = await claudeCodeEngine({
    system: 'SYSTEM',
    prompt: 'PROMPT',
    tools: [],
    claudeTools: ['Read'],
    model: model({ provider: 'vertex', name: 'claude-sonnet-4-5@20250929' }),
    workspace: dir,
    env: {
      PATH: process.env.PATH,
      AUTORUN_CLAUDE_BIN: bin,
      ANTHROPIC_VERTEX_PROJECT_ID: 'my-proj',
      CLOUD_ML_REGION: 'us-east5',
      GOOGLE_APPLICATION_CREDENTIALS: '/var/secrets/google/key.json',
      AUTORUN_VERTEX_ACCESS_TOKEN: 'ya29.token-for-tests-only',
    },
    transcript: recordingTranscript().transcript,
  });
  expect(res).toMatchObject({ outcome: 'Succeeded' });
  const { readFileSync } = await import('node:fs');
  const env = readFileSync(join(dir, 'env'), 'utf8').split('\n');
  expect(env).toEqual(expect.arrayContaining(['CLAUDE_CODE_USE_VERTEX=1', 'CLOUD_ML_REGION=us-east5', 'ANTHROPIC_VERTEX_PROJECT_ID=my-proj']));
  expect(env.filter((l) => /^(ANTHROPIC_API_KEY|ANTHROPIC_BASE_URL|GOOGLE_APPLICATION_CREDENTIALS|AUTORUN_VERTEX_ACCESS_TOKEN)=/.test(l))).toEqual([]);
  expect(readFileSync(join(dir, 'argv'), 'utf8')).toContain('--model claude-sonnet-4-5@20250929');
});

test('model env per provider: vertex needs a region, a base URL goes to ANTHROPIC_VERTEX_BASE_URL, openai-compatible is refused', () => {
  const vertex = model({ provider: 'vertex', baseURL: 'http://127.0.0.1:9/v1' });
  expect(claudeModelEnv({ model: vertex, env: { ANTHROPIC_VERTEX_PROJECT_ID: 'p' } })).toMatchObject({ reason: 'InvalidConfig' });
  expect(claudeModelEnv({ model: vertex, env: { CLOUD_ML_REGION: 'global' } })).toEqual({
    env: { CLAUDE_CODE_USE_VERTEX: '1', CLOUD_ML_REGION: 'global', ANTHROPIC_VERTEX_BASE_URL: 'http://127.0.0.1:9/v1' },
  });
  expect(claudeModelEnv({ model: model({ provider: 'openai-compatible' }), env: { AUTORUN_MODEL_API_KEY: 'k' } })).toMatchObject({ reason: 'ProviderUnsupported' });
  expect(claudeModelEnv({ model: model(), env: {} })).toMatchObject({ reason: 'Unauthorized' });
});

const args = (m: Parameters<typeof model>[0]): string[] => claudeArgs({ prompt: 'p', system: 's', claudeTools: ['Read'], model: model(m) });
const budgetFlag = (argv: string[]): string | undefined => {
  const i = argv.indexOf('--max-budget-usd');
  return i < 0 ? undefined : argv[i + 1];
};

test('a stage budget becomes --max-budget-usd; no budget, no flag', () => {
  expect(budgetFlag(args({ budgetUSD: 1.25 }))).toBe('1.25');
  expect(budgetFlag(args({ budgetUSD: 0.000001 }))).toBe('0.000001');
  expect(args({})).not.toContain('--max-budget-usd');
});

test('the budget reaches the CLI; a budget of $0 starts no session at all', async () => {
  const dir = tempDir();
  const bin = fakeClaude(dir);
  expect(await claudeCodeEngine(request(dir, bin, { model: model({ budgetUSD: 2.5 }) }))).toMatchObject({ outcome: 'Succeeded' });
  expect(readFileSync(join(dir, 'argv'), 'utf8')).toContain('--max-turns 10 --max-budget-usd 2.5 --permission-mode');

  const otherDir = tempDir();
  const none = await withBudget(claudeCodeEngine)(request(otherDir, fakeClaude(otherDir), { model: model({ budgetUSD: 0 }) }));
  expect(none).toEqual({ outcome: 'Failed', reason: 'Budget', summary: 'not started: the stage budget of $0 is spent', finalText: '', usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0 }, turns: 0 });
  expect(existsSync(join(otherDir, 'argv'))).toBe(false);
});

test('credentials: every variable the engines read reaches Claude Code under the name it reads', () => {
  expect(credentialVars('anthropic').map((v) => v.env)).toEqual(['AUTORUN_MODEL_API_KEY', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN']);
  expect(claudeModelEnv({ model: model(), env: { AUTORUN_MODEL_API_KEY: 'a' } })).toEqual({ env: { ANTHROPIC_API_KEY: 'a' } });
  expect(claudeModelEnv({ model: model(), env: { ANTHROPIC_API_KEY: 'b' } })).toEqual({ env: { ANTHROPIC_API_KEY: 'b' } });
  // A gateway's bearer token stays one: Claude Code sends ANTHROPIC_AUTH_TOKEN as Authorization: Bearer.
  expect(claudeModelEnv({ model: model(), env: { ANTHROPIC_AUTH_TOKEN: 'c' } })).toEqual({ env: { ANTHROPIC_AUTH_TOKEN: 'c' } });
  expect(claudeModelEnv({ model: model(), env: { ANTHROPIC_API_KEY: 'b', ANTHROPIC_AUTH_TOKEN: 'c' } })).toEqual({ env: { ANTHROPIC_API_KEY: 'b' } });
  expect(claudeModelEnv({ model: model(), env: { AUTORUN_MODEL_API_KEY: 'a', ANTHROPIC_API_KEY: 'b' } })).toEqual({ env: { ANTHROPIC_API_KEY: 'a' } });
  const none = claudeModelEnv({ model: model(), env: { OPENAI_API_KEY: 'o' } });
  expect(none).toMatchObject({ reason: 'Unauthorized' });
  expect((none as { summary: string }).summary).toMatch(/set AUTORUN_MODEL_API_KEY, ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN/);
});

test('an auth token is started as ANTHROPIC_AUTH_TOKEN, with no API key beside it', async () => {
  const dir = tempDir();
  const bin = fakeClaude(dir);
  const res = await claudeCodeEngine(request(dir, bin, { env: { PATH: process.env.PATH, AUTORUN_CLAUDE_BIN: bin, ANTHROPIC_AUTH_TOKEN: 'gateway-token-0123456789' } }));
  expect(res.outcome).toBe('Succeeded');
  const env = readFileSync(join(dir, 'env'), 'utf8').split('\n');
  expect(env).toContain('ANTHROPIC_AUTH_TOKEN=gateway-token-0123456789');
  expect(env.filter((l) => l.startsWith('ANTHROPIC_API_KEY='))).toEqual([]);
});
