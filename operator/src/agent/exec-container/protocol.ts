// What the agent and the exec container say over their unix socket. In an LLM Pod the model's
// commands run in a second container of the Pod (the exec container), which holds no secret: no
// Secret mounted, no secret in its env, no service-account token, and a PID namespace of its own, so
// no process holding the model key or the git token is in its /proc. The agent (which holds both)
// sends each command there and gets its output back; the two share only the workspace, this socket's
// directory and, for Claude Code, its HOME (read-only there).
//
// One connection per command: the client sends one JSON line (ExecRequest), the server answers with
// JSON lines: the output as it arrives when `stream` is set, then the result. A connection that
// closes before the result kills the command and everything it started (the caller is gone).

/** The socket's path; set in the agent container, where commands are then sent there. */
export const EXEC_SOCKET_ENV = 'AUTORUN_EXEC_SOCKET';

/** Longest request line accepted (a command and its environment). */
export const MAX_REQUEST_BYTES = 4 << 20;

export interface ExecRequest {
  argv: string[];
  cwd: string;
  /** The command's whole environment; the server drops secret-looking variables again. */
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes?: number;
  killGraceMs?: number;
  input?: string;
  /** Send stdout and stderr frames as they arrive (Claude Code's shell prefix prints them). */
  stream?: boolean;
  /**
   * A file in the exec container the command writes (the shell's final directory, which Claude
   * Code tracks): its contents come back in the result (`readBack`), and it is removed.
   */
  readBack?: string;
}

/** Most bytes of a readBack file returned. */
export const MAX_READ_BACK = 4096;

export type ExecFrame =
  | { t: 'out'; d: string }
  | { t: 'err'; d: string }
  | { t: 'result'; exitCode: number | null; signal: NodeJS.Signals | null; timedOut: boolean; output: string; stdout: string; durationMs: number; readBack?: string }
  /** The request could not be run at all (malformed, a missing cwd): the reason. */
  | { t: 'error'; message: string };

/** The request in a line, or why it is not one; the server runs nothing it cannot check. */
export function parseRequest(line: string): ExecRequest | Error {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return new Error(`the request is not JSON: ${(e as Error).message}`);
  }
  const r = v as Partial<ExecRequest> | null;
  if (!r || typeof r !== 'object') return new Error('the request is not an object');
  if (!Array.isArray(r.argv) || !r.argv.length || !r.argv.every((a) => typeof a === 'string')) return new Error('argv must be a non-empty array of strings');
  if (typeof r.cwd !== 'string' || !r.cwd.startsWith('/')) return new Error('cwd must be an absolute path');
  if (!r.env || typeof r.env !== 'object' || !Object.values(r.env).every((x) => typeof x === 'string')) return new Error('env must map names to strings');
  if (typeof r.timeoutMs !== 'number' || !(r.timeoutMs > 0)) return new Error('timeoutMs must be a positive number');
  for (const k of ['maxOutputBytes', 'killGraceMs'] as const) if (r[k] !== undefined && (typeof r[k] !== 'number' || !(r[k] >= 0))) return new Error(`${k} must be a non-negative number`);
  if (r.input !== undefined && typeof r.input !== 'string') return new Error('input must be a string');
  if (r.readBack !== undefined && (typeof r.readBack !== 'string' || !r.readBack.startsWith('/'))) return new Error('readBack must be an absolute path');
  return { argv: r.argv, cwd: r.cwd, env: r.env, timeoutMs: r.timeoutMs, maxOutputBytes: r.maxOutputBytes, killGraceMs: r.killGraceMs, input: r.input, stream: r.stream === true, readBack: r.readBack };
}
