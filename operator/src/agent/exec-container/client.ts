// The agent's side of the exec container (protocol.ts): a command sent over the socket, its result
// as execFileCapped's, so the tools see no difference but where the command ran.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { ExecOptions, ExecResult } from '../exec.js';
import type { ExecFrame, ExecRequest } from './protocol.js';

/**
 * How long to wait for the socket: the kubelet starts the agent once the exec container has
 * started, which may be a moment before its server listens (or while it restarts).
 */
export const CONNECT_WAIT_MS = 60_000;
/** Beyond the command's own deadline and kill grace: the server's wait for a killed tree to go. */
const RESULT_SLACK_MS = 30_000;

/** Connects to socketPath, retrying while it is not there yet or refuses; rejects after waitMs. */
export function connectExec(socketPath: string, waitMs = CONNECT_WAIT_MS): Promise<Socket> {
  const end = Date.now() + waitMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = connect(socketPath);
      sock.once('connect', () => {
        sock.off('error', onError);
        resolve(sock);
      });
      const onError = (e: NodeJS.ErrnoException): void => {
        sock.destroy();
        if ((e.code === 'ENOENT' || e.code === 'ECONNREFUSED') && Date.now() < end) setTimeout(attempt, 200);
        else reject(new Error(`the exec container does not answer at ${socketPath}: ${e.code ?? e.message}`));
      };
      sock.once('error', onError);
    };
    attempt();
  });
}

/** Reads JSON lines from sock, calling onFrame for each; resolves when the socket closes. */
export function readFrames(sock: Socket, onFrame: (f: ExecFrame) => void): Promise<void> {
  return new Promise((resolve) => {
    let pending = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line) onFrame(JSON.parse(line) as ExecFrame);
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => resolve());
  });
}

const failed = (output: string, started: number): ExecResult => ({ exitCode: 127, signal: null, timedOut: false, output, stdout: '', durationMs: Date.now() - started });

/** Runs `file args` in the exec container with execFileCapped's options and result. */
export async function execRemote(socketPath: string, file: string, args: string[], opts: ExecOptions, connectWaitMs = CONNECT_WAIT_MS): Promise<ExecResult> {
  const started = Date.now();
  let sock: Socket;
  try {
    sock = await connectExec(socketPath, connectWaitMs);
  } catch (e) {
    return failed(`${(e as Error).message}\n`, started);
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  const req: ExecRequest = { argv: [file, ...args], cwd: opts.cwd, env, timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxOutputBytes, killGraceMs: opts.killGraceMs, input: opts.input };
  let result: ExecResult | undefined;
  let error: string | undefined;
  // A server that never answers must not hang the stage: past the command's own deadline, give up
  // (closing the connection kills the command there).
  const guard = setTimeout(() => {
    error = `the exec container sent no result within ${Math.round((opts.timeoutMs + RESULT_SLACK_MS) / 1000)}s`;
    sock.destroy();
  }, opts.timeoutMs + (opts.killGraceMs ?? 2000) + RESULT_SLACK_MS);
  const closed = readFrames(sock, (f) => {
    if (f.t === 'error') error = f.message;
    else if (f.t === 'result') result = { exitCode: f.exitCode, signal: f.signal, timedOut: f.timedOut, output: f.output, stdout: f.stdout, durationMs: f.durationMs };
  });
  sock.write(JSON.stringify(req) + '\n');
  await closed;
  clearTimeout(guard);
  // Not streamed (only Claude Code's shell prefix streams): a live watcher sees it all at the end.
  if (result?.stdout) opts.onStdout?.(result.stdout);
  return result ?? failed(`the exec container ran nothing: ${error ?? 'it closed the connection without a result'}\n`, started);
}
