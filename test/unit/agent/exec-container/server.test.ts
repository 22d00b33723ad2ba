// The exec container's server and the agent's client over a real unix socket, in one process: the
// command runs with execFileCapped's semantics (exit code, output, deadline, the whole tree killed),
// secret-looking variables never reach it, and a caller that goes away kills what it started.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { commandEnv, startExecServer } from '../../../../operator/src/agent/exec-container/server.js';
import { connectExec, execRemote, readFrames } from '../../../../operator/src/agent/exec-container/client.js';
import { execShellPrefixScript } from '../../../../operator/src/agent/exec-container/shell-prefix.js';
import { isAlive, waitGone } from '../../../../operator/src/agent/children.js';
import { SECRET_NAME, SECRET_VARS } from '../../../../operator/src/util/secrets.js';
import { tempDir } from '../helpers.js';

let dir: string;
let socket: string;
let server: Server;
beforeAll(async () => {
  dir = tempDir('autorun-exec-');
  socket = join(dir, 'exec.sock');
  server = await startExecServer(socket);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const base = () => ({ cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 20_000 });

test('runs a shell command in the given directory and returns its exit code and output', async () => {
  const r = await execRemote(socket, '/bin/sh', ['-c', 'pwd; echo out; echo err >&2; exit 3'], base());
  expect(r).toMatchObject({ exitCode: 3, timedOut: false, stdout: `${dir}\nout\n` });
  expect(r.output).toContain('err');
});

test('drops secret-looking variables the client sent', async () => {
  const r = await execRemote(socket, '/bin/sh', ['-c', 'env'], { ...base(), env: { ...base().env, ANTHROPIC_API_KEY: 'sk-ant-x', AUTORUN_GIT_TOKEN: 'tok', KEEP: 'yes' } });
  expect(r.stdout).toContain('KEEP=yes');
  expect(r.stdout).not.toMatch(/sk-ant-x|tok$/m);
});

test('a timeout kills the whole tree, a process in a session of its own included', async () => {
  const pidFile = join(dir, 'escaped.pid');
  const r = await execRemote(socket, '/bin/sh', ['-c', `setsid sh -c 'echo $$ > ${pidFile}; sleep 60' & sleep 60`], { ...base(), timeoutMs: 1000, killGraceMs: 200 });
  expect(r.timedOut).toBe(true);
  const pid = Number(execFileSync('cat', [pidFile], { encoding: 'utf8' }));
  expect(isAlive(pid)).toBe(false);
});

test('a caller that goes away kills the command', async () => {
  const pidFile = join(dir, 'abandoned.pid');
  const sock = await connectExec(socket);
  const closed = readFrames(sock, () => undefined);
  sock.write(JSON.stringify({ argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 60`], cwd: dir, env: base().env, timeoutMs: 60_000 }) + '\n');
  let pid = 0;
  for (let i = 0; i < 100 && !pid; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      pid = Number(execFileSync('cat', [pidFile], { encoding: 'utf8' }));
    } catch {
      // not yet
    }
  }
  expect(isAlive(pid)).toBe(true);
  sock.destroy();
  await closed;
  expect(await waitGone([pid], 10_000)).toBe(true);
});

test('a malformed request runs nothing and says why', async () => {
  const r = await execRemote(socket, '/bin/sh', ['-c', 'true'], { ...base(), cwd: join(dir, 'missing') });
  expect(r.exitCode).toBe(127);
  expect(r.output).toContain('does not exist in the exec container');
});

test('no server: the client says so after its wait, naming the socket', async () => {
  const r = await execRemote(join(dir, 'none.sock'), '/bin/sh', ['-c', 'true'], base(), 500);
  expect(r.exitCode).toBe(127);
  expect(r.output).toContain(`the exec container does not answer at ${join(dir, 'none.sock')}: ENOENT`);
});

test("Claude Code's shell prefix streams the output, keeps the exit code and brings the directory back", async () => {
  const script = join(dir, 'prefix.mjs');
  writeFileSync(script, execShellPrefixScript(process.execPath, socket, SECRET_NAME, SECRET_VARS), { mode: 0o700 });
  const cwdFile = join(dir, 'claude-ab12-cwd');
  const line = `eval 'cd /; echo "$ANTHROPIC_API_KEY-$KEEP"; echo e >&2; false' < /dev/null; true && pwd -P >| ${cwdFile}`;
  const child = spawn(script, [line], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, TMPDIR: dir, ANTHROPIC_API_KEY: 'sk-ant-secret', KEEP: 'kept' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('close', r));
  expect({ code, out, err }).toEqual({ code: 0, out: '-kept\n', err: 'e\n' });
  expect(execFileSync('cat', [cwdFile], { encoding: 'utf8' })).toBe('/\n');
});

test("a home or temporary directory only the agent's container has becomes this container's own", () => {
  const env = commandEnv({ HOME: '/nonexistent/claude-home', TMPDIR: '/nonexistent/tmp', TMP: dir, PATH: '/bin', ANTHROPIC_API_KEY: 'k' }, { HOME: '/tmp' });
  expect(env).toEqual({ HOME: '/tmp', TMP: dir, PATH: '/bin' });
});
