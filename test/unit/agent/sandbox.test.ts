// The command sandbox with the real bubblewrap: what a command inside can see and do.
import { mkdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execSandboxed, SANDBOX_UNAVAILABLE } from '../../../operator/src/agent/exec.js';
import { hiddenPaths, pathToolsUnderTmp, sandboxArgs } from '../../../operator/src/agent/sandbox.js';
import { tempDir } from './helpers.js';

const KEY = 'sk-ant-unit-sandbox-0123456789abcdef';

function layout(): { root: string; ws: string; home: string; keyFile: string; sibling: string; agentEnv: NodeJS.ProcessEnv } {
  const root = tempDir('autorun-sandbox-');
  const ws = join(root, 'state', 'task', 'stages', 'code', 'workspace');
  const sibling = join(root, 'state', 'task', 'stages', 'test', 'workspace');
  const home = join(root, 'home');
  for (const d of [ws, sibling, join(home, '.pyenv'), join(root, 'secret')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(home, '.bashrc'), `export ANTHROPIC_API_KEY=${KEY}\n`);
  writeFileSync(join(home, '.pyenv', 'version'), '3.12\n');
  writeFileSync(join(sibling, 'test_x.py'), 'secret tests\n');
  const keyFile = join(root, 'secret', 'api-key');
  writeFileSync(keyFile, KEY, { mode: 0o400 });
  const agentEnv = { PATH: process.env.PATH, HOME: home, ANTHROPIC_API_KEY: KEY, AUTORUN_MODEL_API_KEY_FILE: keyFile, AUTORUN_SANDBOX_HIDE: join(root, 'state') };
  return { root, ws, home, keyFile, sibling, agentEnv };
}

const run = (command: string, l: ReturnType<typeof layout>, network = true, agentEnv = l.agentEnv) =>
  execSandboxed(command, { cwd: l.ws, env: { PATH: process.env.PATH, HOME: l.home }, agentEnv, network, timeoutMs: 20_000 });

test('bwrap arguments: covers HOME, the key file\'s directory and the state dir, then binds the workspace back', () => {
  const l = layout();
  expect(hiddenPaths({ env: l.agentEnv, workspace: l.ws })).toEqual([join(l.root, 'home'), join(l.root, 'state'), join(l.root, 'secret')].sort((a, b) => a.length - b.length));
  const args = sandboxArgs(['/bin/sh', '-c', 'true'], { workspace: l.ws, network: false, env: l.agentEnv });
  expect(args).toEqual(expect.arrayContaining(['--unshare-pid', '--unshare-net', '--die-with-parent']));
  expect(args.join(' ')).toContain(`--ro-bind ${join(l.home, '.pyenv')} ${join(l.home, '.pyenv')}`);
  const ws = args.indexOf('--bind');
  expect(args.slice(ws, ws + 3)).toEqual(['--bind', l.ws, l.ws]);
  expect(args.lastIndexOf('--tmpfs')).toBeLessThan(ws);
  expect(sandboxArgs(['true'], { workspace: l.ws, network: true, env: l.agentEnv })).not.toContain('--unshare-net');
});

test('inside: a PID namespace of its own, no key in any environment or file, only the workspace writable', async () => {
  const l = layout();
  const r = await run(
    [
      'echo "pids $(ls /proc | grep -c "^[0-9]")"',
      'cat /proc/*/environ | tr "\\0" "\\n"',
      `cat ${l.home}/.bashrc ${l.keyFile} ${join(l.sibling, 'test_x.py')} 2>&1`,
      `cat ${l.home}/.pyenv/version`,
      'touch /usr/x 2>&1; touch ok && echo wrote',
    ].join('; '),
    l,
  );
  expect(r.exitCode).toBe(0);
  // bwrap's init, the shell and cat, ls, grep: a handful, not the machine's hundreds.
  expect(Number(/pids (\d+)/.exec(r.output)?.[1])).toBeLessThan(8);
  expect(r.output).toContain(`PATH=${process.env.PATH}`);
  expect(r.output).not.toContain(KEY);
  expect(r.output).not.toContain('secret tests');
  expect(r.output).toMatch(/No such file or directory/);
  expect(r.output).toContain('3.12');
  expect(r.output).toMatch(/Read-only file system/);
  expect(r.output).toContain('wrote');
  expect(existsSync(join(l.ws, 'ok'))).toBe(true);
});

test('a PATH tool under /tmp (a clone in a mktemp dir running its node_modules/.bin) stays runnable in the private /tmp', async () => {
  const l = layout();
  expect(l.root.startsWith('/tmp/')).toBe(true);
  const modules = join(l.root, 'clone', 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  mkdirSync(join(modules, 'tool'), { recursive: true });
  writeFileSync(join(modules, 'tool', 'run.sh'), '#!/bin/sh\necho tool-ran\n', { mode: 0o755 });
  symlinkSync('../tool/run.sh', join(modules, '.bin', 'tool'));
  const path = `${join(modules, '.bin')}:${process.env.PATH}`;
  // PATH as the test sets it (the jest process's own may hold a /tmp checkout's node_modules too).
  expect(pathToolsUnderTmp(`${join(modules, '.bin')}:/usr/bin`, [])).toEqual([modules]);
  expect(pathToolsUnderTmp(`/tmp:${join(modules, '.bin')}:/usr/bin`, [join(l.root, 'clone')])).toEqual([]);
  const r = await execSandboxed('tool', { cwd: l.ws, env: { PATH: path, HOME: l.home }, agentEnv: { ...l.agentEnv, PATH: path }, network: false, timeoutMs: 20_000 });
  expect(r.output).toContain('tool-ran');
});

test('network: reachable for code and repair, not at all for run and acceptance', async () => {
  const l = layout();
  const server = createServer((s) => {
    s.on('error', () => undefined); // the probe hangs up at once
    s.end('hello\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const probe = `python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=2); print('NET-REACHED')" 2>&1 || echo NET-BLOCKED`;
  try {
    expect((await run(probe, l, true)).output).toContain('NET-REACHED');
    expect((await run(probe, l, false)).output).toContain('NET-BLOCKED');
  } finally {
    server.close();
  }
});

test('AUTORUN_SANDBOX=off runs unsandboxed (and the key is then readable); a missing bwrap fails the command, saying why', async () => {
  const l = layout();
  expect((await run(`cat ${l.keyFile}`, l, true, { ...l.agentEnv, AUTORUN_SANDBOX: 'off' })).output).toContain(KEY);
  const r = await run('echo never', l, true, { ...l.agentEnv, AUTORUN_BWRAP: join(l.root, 'no-bwrap') });
  expect(r.exitCode).not.toBe(0);
  expect(r.output).toContain(SANDBOX_UNAVAILABLE);
  expect(r.output).not.toContain('never');
});
