import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAnthropic, text, toolUse } from '../../fakes/anthropic-server.js';

test('probe', async () => {
  const key = 'sk-ant-probe-0123456789abcdefghij';
  const dir = mkdtempSync('/tmp/ccprobe-');
  const home = join(dir, 'home'); mkdirSync(home);
  const tmp = join(dir, 'tmp'); mkdirSync(tmp);
  const ws = join(dir, 'ws'); mkdirSync(ws);
  const log = join(dir, 'argv.log');
  const prefix = join(dir, 'prefix.sh');
  writeFileSync(prefix, `#!/bin/bash\nprintf '%s\\n---\\n' "$@" >> ${log}\nenv >> ${log}.env\nexec /bin/bash -c "$1"\n`);
  chmodSync(prefix, 0o755);
  const fake = await startFakeAnthropic([toolUse('Bash', { command: 'echo hi; pwd', description: 'x' }), toolUse('Read', { file_path: '/proc/self/environ' }), text('done')]);
  const bin = join(process.cwd(), 'node_modules/.bin/claude');
  const r = await new Promise<{ out: string }>((res) => {
    const c = spawn(bin, ['-p', 'go', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--tools', 'Bash,Read', '--allowedTools', 'Bash,Read', '--model', 'claude-sonnet-4-5', '--no-session-persistence', '--settings', JSON.stringify({ permissions: { blockFileToolReadsOutsideWorkingDirectories: true, blockWritesOutsideWorkingDirectories: true } })], { cwd: ws, env: { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, ANTHROPIC_API_KEY: key, ANTHROPIC_BASE_URL: fake.url, CLAUDE_CODE_SHELL_PREFIX: prefix, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1' } });
    let out = ''; c.stdout.on('data', (d) => (out += d)); c.stderr.on('data', (d) => (out += d));
    c.on('close', () => res({ out }));
  });
  await fake.close();
  process.stderr.write('ARGV:\n' + readFileSync(log, 'utf8') + '\n');
  process.stderr.write('REQ tool results: ' + JSON.stringify(fake.requests.map((q) => q.body.messages.at(-1)!.content)).slice(0, 3000) + '\n');
  process.stderr.write(spawnSync('bash', ['-c', `find ${dir} -type f | head -50; grep -rl ${key} ${dir}; grep -rl ${key.slice(-20)} ${dir}`], { encoding: 'utf8' }).stdout);
  process.stderr.write(r.out.slice(-1500));
}, 120000);
