// `autorun exec-server`: the exec container's program (protocol.ts). It runs each command it is sent
// as the agent ran it before, with the same deadline, output cap and kill of the whole process tree
// (exec.ts), in this container, which holds nothing worth stealing.
import { closeSync, constants, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { execFileCapped } from '../exec.js';
import { childrenOf, descendants, killPids, liveGroups, stopChildren } from '../children.js';
import { scrubEnv } from '../../util/secrets.js';
import { MAX_READ_BACK, MAX_REQUEST_BYTES, parseRequest } from './protocol.js';
import type { ExecFrame } from './protocol.js';

function send(conn: Socket, frame: ExecFrame): void {
  if (!conn.destroyed && conn.writable) conn.write(JSON.stringify(frame) + '\n');
}

/** The start of a regular file the command wrote (no symlink followed), removed; undefined if none. */
function readBack(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(MAX_READ_BACK);
    return buf.subarray(0, readSync(fd, buf, 0, MAX_READ_BACK, 0)).toString('utf8');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

/**
 * Kills what finished commands left running. As PID 1 of the exec container the server inherits
 * every orphan there: a process a command started in the background and left behind (`setsid cmd &`)
 * would run on while the agent, in the other container, reads and writes the shared workspace, and
 * could swap a path the agent is about to use for a link. So no process outlives its command: after
 * each one, every child of the server that is not a running command is killed, with its descendants.
 */
function killLeftovers(): void {
  // Elsewhere (a test's process, say) orphans go to the real init, and our children are not all ours.
  if (process.pid !== 1) return;
  const running = new Set(liveGroups());
  const left = childrenOf(process.pid).filter((p) => !running.has(p));
  const all = left.flatMap((p) => [p, ...descendants(p)]);
  killPids(all, 'SIGKILL');
}

/**
 * The command's environment: the agent's (scrubbed), but where it names a home or temporary
 * directory that exists only in the agent container (Claude Code's private HOME and TMPDIR), this
 * container's own, so that `mktemp` or a tool's cache under ~ work.
 */
export function commandEnv(requested: Record<string, string>, own: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = scrubEnv(requested);
  for (const k of ['HOME', 'TMPDIR', 'TMP', 'TEMP']) {
    const v = env[k];
    if (v === undefined || existsSync(v)) continue;
    if (own[k] !== undefined) env[k] = own[k];
    else delete env[k];
  }
  return env;
}

function handle(conn: Socket): void {
  let buffered = '';
  let started = false;
  const abort = new AbortController();
  conn.on('close', () => abort.abort());
  conn.on('error', () => undefined);
  conn.setEncoding('utf8');
  conn.on('data', (chunk: string) => {
    if (started) return;
    buffered += chunk;
    const nl = buffered.indexOf('\n');
    if (nl < 0) {
      if (buffered.length > MAX_REQUEST_BYTES) {
        send(conn, { t: 'error', message: `the request is longer than ${MAX_REQUEST_BYTES} bytes` });
        conn.end();
        started = true;
      }
      return;
    }
    started = true;
    const req = parseRequest(buffered.slice(0, nl));
    if (req instanceof Error) {
      send(conn, { t: 'error', message: req.message });
      conn.end();
      return;
    }
    if (!existsSync(req.cwd) || !statSync(req.cwd).isDirectory()) {
      send(conn, { t: 'error', message: `the working directory ${req.cwd} does not exist in the exec container` });
      conn.end();
      return;
    }
    void execFileCapped(req.argv[0]!, req.argv.slice(1), {
      cwd: req.cwd,
      // The agent scrubbed it already; a second time here, so no client can hand a secret on.
      env: commandEnv(req.env),
      timeoutMs: req.timeoutMs,
      maxOutputBytes: req.maxOutputBytes,
      killGraceMs: req.killGraceMs,
      input: req.input,
      signal: abort.signal,
      ...(req.stream ? { onStdout: (d: string) => send(conn, { t: 'out', d }), onStderr: (d: string) => send(conn, { t: 'err', d }) } : {}),
    }).then((r) => {
      // A streamed command's output went out already.
      killLeftovers();
      const back = req.readBack === undefined ? undefined : readBack(req.readBack);
      send(conn, { t: 'result', ...r, ...(req.stream ? { output: '', stdout: '' } : {}), ...(back === undefined ? {} : { readBack: back }) });
      conn.end();
    });
  });
}

/** Listens on socketPath (replacing a stale socket from a restarted container). */
export async function startExecServer(socketPath: string): Promise<Server> {
  rmSync(socketPath, { force: true });
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Both containers run as the stage user; nobody else connects.
  await chmod(socketPath, 0o600);
  return server;
}

const USAGE = 'usage: autorun exec-server --socket PATH\n';

/** The command: serves until SIGTERM (the kubelet ending the Pod once the agent is done). */
export async function main(argv: string[]): Promise<number> {
  const i = argv.indexOf('--socket');
  const socketPath = i >= 0 ? argv[i + 1] : undefined;
  if (!socketPath || argv.length !== 2) {
    process.stderr.write(USAGE);
    return 2;
  }
  const server = await startExecServer(socketPath);
  process.stderr.write(`autorun exec-server: listening on ${socketPath}\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      server.close();
      // As PID 1 of its container, a signal without a handler would be ignored.
      void stopChildren(1000).then(() => {
        rmSync(socketPath, { force: true });
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
