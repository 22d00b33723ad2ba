// Commands the model runs and the tests the run stage executes run in a bubblewrap sandbox: their
// own PID namespace and /proc (so no process holding the model key, the agent's or its parent's, is
// there to read: /proc/1 is the sandbox's init, started with the scrubbed env), the filesystem
// read-only but for the workspace and a fresh /tmp, the home directory and every path that holds a
// key (the Pod's Secret mount, the local state directory) covered by empty tmpfs, and for run and
// acceptance no network at all. Scrubbing the command's own environment was not enough: a command
// could read `/proc/$PPID/environ` of the agent, or of `autorun run` above it.
//
// AUTORUN_SANDBOX=off runs commands unsandboxed (only where bubblewrap cannot run, and knowing that
// the key is then readable); otherwise a missing or failing bwrap fails the command, never silently.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MODEL_API_KEY_FILE_ENV } from './credentials.js';

export const SANDBOX_ENV = 'AUTORUN_SANDBOX';
/** Extra paths to cover, ':'-separated (the local tier's state directory). */
export const SANDBOX_HIDE_ENV = 'AUTORUN_SANDBOX_HIDE';
/** Directories commands may write besides the workspace, ':'-separated (a shared cache, say): yours to open. */
export const SANDBOX_WRITABLE_ENV = 'AUTORUN_SANDBOX_WRITABLE';
/**
 * Toolchains people install under HOME (pyenv, nvm, rustup, Go's module cache...): shown read-only
 * in the otherwise empty HOME, where the rest (dotfiles, ~/.ssh, ~/.config, an exported key in
 * ~/.bashrc) stays covered. Their credential files are covered again.
 */
export const HOME_TOOLCHAINS = ['.pyenv', '.nvm', '.volta', '.cargo', '.rustup', 'go', '.local/bin', '.local/lib', '.deno', '.bun', '.rbenv', '.asdf', '.sdkman'];
const TOOLCHAIN_CREDENTIALS = ['.cargo/credentials', '.cargo/credentials.toml'];

export interface SandboxOptions {
  /** The one writable directory; the command starts there. */
  workspace: string;
  /** false: a network namespace of its own, with nothing in it but loopback. */
  network: boolean;
  /** The agent's environment, for what to hide (HOME, the key file, AUTORUN_SANDBOX_HIDE). */
  env: NodeJS.ProcessEnv;
  /** Directories to make visible read-only although under a hidden path (Claude Code's HOME). */
  readOnly?: string[];
  /** Directories to make writable besides the workspace (Claude Code's TMPDIR). */
  writable?: string[];
}

export function sandboxEnabled(env: NodeJS.ProcessEnv): boolean {
  return env[SANDBOX_ENV] !== 'off';
}

/** The bwrap binary: AUTORUN_BWRAP, else bwrap on PATH. */
export function bwrapPath(env: NodeJS.ProcessEnv): string {
  return env.AUTORUN_BWRAP || 'bwrap';
}

/** Paths whose contents a sandboxed command must not see, outermost first. */
export function hiddenPaths(o: Pick<SandboxOptions, 'env' | 'workspace'>): string[] {
  const hide = new Set<string>();
  const home = o.env.HOME;
  if (home && home !== '/' && existsSync(home)) hide.add(resolve(home));
  const keyFile = o.env[MODEL_API_KEY_FILE_ENV]; // a Pod's Secret mount: its directory is covered
  if (keyFile) hide.add(dirname(resolve(keyFile)));
  for (const p of (o.env[SANDBOX_HIDE_ENV] ?? '').split(':')) if (p && existsSync(p)) hide.add(resolve(p));
  const ws = resolve(o.workspace);
  // Covering / or the workspace itself (a HOME of /workspace, say) would hide the work; a cover
  // above the workspace is fine, the workspace is bound again after the covers.
  return [...hide].filter((p) => p !== '/' && p !== ws).sort((a, b) => a.length - b.length);
}

/**
 * PATH directories that the sandbox's private /tmp covers (a checkout under /tmp running its own
 * node_modules/.bin, as a CI clone in a mktemp dir does): shown again read-only, and for a
 * node_modules/.bin the whole node_modules, since its entries are relative links into it. Never /tmp
 * itself, nor anything under a hidden path.
 */
export function pathToolsUnderTmp(path: string | undefined, hidden: readonly string[]): string[] {
  const out = new Set<string>();
  for (const entry of (path ?? '').split(':')) {
    if (!entry) continue;
    const d = resolve(entry);
    if (!d.startsWith('/tmp/') || !existsSync(d)) continue;
    const dir = basename(d) === '.bin' && basename(dirname(d)) === 'node_modules' ? dirname(d) : d;
    if (hidden.some((h) => dir === h || dir.startsWith(h + '/'))) continue;
    out.add(dir);
  }
  return [...out];
}

/**
 * bwrap's arguments for running argv in the sandbox. The caller spawns bwrap with the scrubbed
 * environment (bwrap passes it on, and it is what /proc/1/environ shows inside).
 */
export function sandboxArgs(argv: string[], o: SandboxOptions): string[] {
  const ws = resolve(o.workspace);
  const args = [
    '--die-with-parent',
    // No TIOCSTI into a terminal the agent's caller might have.
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(o.network ? [] : ['--unshare-net']),
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--tmpfs',
    '/tmp',
  ];
  const hidden = hiddenPaths(o);
  for (const p of hidden) args.push('--tmpfs', p);
  const home = o.env.HOME ? resolve(o.env.HOME) : undefined;
  if (home && hidden.includes(home)) {
    for (const t of HOME_TOOLCHAINS) if (existsSync(join(home, t))) args.push('--ro-bind', join(home, t), join(home, t));
    for (const c of TOOLCHAIN_CREDENTIALS) if (existsSync(join(home, c))) args.push('--ro-bind', '/dev/null', join(home, c));
  }
  for (const p of pathToolsUnderTmp(o.env.PATH, hidden)) args.push('--ro-bind', p, p);
  for (const p of o.readOnly ?? []) args.push('--ro-bind', p, p);
  const writable = [...(o.writable ?? []), ...(o.env[SANDBOX_WRITABLE_ENV] ?? '').split(':').filter((p) => p && existsSync(p)).map((p) => resolve(p))];
  for (const p of writable) args.push('--bind', p, p);
  // After the covers: a workspace under a hidden directory (the local state dir) stays reachable.
  // HOME keeps its path (pyenv, Go and npm derive theirs from it), now an empty private tmpfs.
  args.push('--bind', ws, ws, '--chdir', ws, '--', ...argv);
  return args;
}

/**
 * An executable for Claude Code's CLAUDE_CODE_SHELL_PREFIX: Claude Code runs each Bash command as
 * `<prefix> '<command line>'`, from its own process, whose environment holds the model key. The
 * wrapper (a Node script, as it must drop whatever secret Claude Code passes on, known or not)
 * starts bwrap with the environment scrubbed, so neither the command nor the sandbox's init has
 * the key, and Claude Code's process is outside the sandbox's PID namespace.
 */
export function shellPrefixScript(node: string, bwrap: string, args: string[], secretName: RegExp, secretVars: Iterable<string>): string {
  return `#!${node}
// Written by autorun's claude-code engine for this stage; removed with it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
const secret = new RegExp(${JSON.stringify(secretName.source)}, 'i');
const known = new Set(${JSON.stringify([...secretVars])});
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !known.has(k) && !secret.test(k)));
const child = spawn(${JSON.stringify(bwrap)}, [...${JSON.stringify(args)}, process.argv[2] ?? ''], { env, stdio: 'inherit' });
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => child.kill(s));
child.on('error', (e) => {
  process.stderr.write(${JSON.stringify('the command sandbox (bubblewrap) could not start: ')} + e.message + '\\n');
  process.exit(127);
});
child.on('exit', (code, sig) => process.exit(code ?? 128 + (constants.signals[sig] ?? 1)));
`;
}
