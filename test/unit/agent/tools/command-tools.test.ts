import { flagTestTool, runCommandTool } from '../../../../operator/src/agent/tools/command-tools.js';
import { scrubEnv } from '../../../../operator/src/util/secrets.js';
import { liveWithArg as sleeping, tempDir } from '../helpers.js';

test('commands run in the workspace without the agent secrets', async () => {
  const ws = tempDir();
  const tool = runCommandTool(ws, { PATH: process.env.PATH, ANTHROPIC_API_KEY: 'sk-secret', AUTORUN_GIT_TOKEN: 'ghp_x', MY_DB_PASSWORD: 'p', HARMLESS: 'ok' });
  const out = await tool.run({ command: 'pwd; env' });
  expect(out).toMatch(/^exit code 0\n/);
  expect(out).toContain(ws);
  expect(out).toContain('HARMLESS=ok');
  expect(out).not.toMatch(/sk-secret|ghp_x|MY_DB_PASSWORD/);
});

test('a command past its timeout is killed and says so; output is capped', async () => {
  const ws = tempDir();
  const tool = runCommandTool(ws, { PATH: process.env.PATH });
  // Killed, not waited for (sleep 600 outlasts the test timeout). Found by its unique argument: in
  // the sandbox its pid is its PID namespace's, not ours.
  const seconds = `600.${process.pid}${Date.now() % 100000}`;
  expect(await tool.run({ command: `exec sleep ${seconds}`, timeout_seconds: 1 })).toMatch(/killed after 1s/);
  const alive = (): number => sleeping(seconds);
  for (let i = 0; i < 100 && alive() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(alive()).toBe(0);
  const big = await tool.run({ command: 'yes x | head -c 200000' });
  expect(big.length).toBeLessThan(31_000);
  expect(big).toContain('elided');
});

test('flag_test records names for the result', async () => {
  const flagged = new Map<string, string>();
  await flagTestTool(flagged).run({ name: 'tests/t.py::test_a', reason: 'contradicts the goal' });
  expect([...flagged.keys()]).toEqual(['tests/t.py::test_a']);
});

test('scrubEnv keeps ordinary variables', () => {
  expect(scrubEnv({ PATH: '/bin', OPENAI_API_KEY: 'x', GITHUB_TOKEN: 'y', HOME: '/h' })).toEqual({ PATH: '/bin', HOME: '/h' });
});
