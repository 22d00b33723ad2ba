// The claude-code engine's process plumbing, with a stand-in `claude` (a shell script that checks its
// arguments and environment and replays recorded stream-json). The real CLI is not a dependency.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { claudeCodeEngine } from '../../../../operator/src/agent/engines/claude-code.js';
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
  expect(argv).toContain('-p PROMPT --output-format stream-json --verbose --max-turns 9 --permission-mode acceptEdits --allowedTools Read,Write --append-system-prompt SYSTEM --model claude-sonnet-4-5');
  const env = readFileSync(join(dir, 'env'), 'utf8');
  expect(env).toContain('CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1');
  expect(env).toContain('ANTHROPIC_BASE_URL=http://127.0.0.1:9');
  expect(env).not.toContain('ghp_secret');
  expect(env).toMatch(/HOME=.*autorun-claude-home-/);
  expect(lines.some((l) => l.includes('"event":"claude"'))).toBe(true);
});

test('a missing binary is an engine crash with a clear summary', async () => {
  const dir = tempDir();
  const res = await claudeCodeEngine({
    system: 's',
    prompt: 'p',
    tools: [],
    claudeTools: [],
    model: model(),
    workspace: dir,
    env: { PATH: process.env.PATH, AUTORUN_CLAUDE_BIN: join(dir, 'no-such-claude'), ANTHROPIC_API_KEY: 'k' },
    transcript: recordingTranscript().transcript,
  });
  expect(res).toMatchObject({ outcome: 'Error', reason: 'EngineCrashed' });
  expect(res.summary).toMatch(/cannot start/);
});
