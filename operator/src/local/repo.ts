// The git remote of a local task: the manifest's repository.url (a URL, or a path relative to the
// manifest file), or a fresh bare repository under the state dir with one initial commit, so that the
// agents clone, fetch and push exactly as they do against a hosted remote in the cluster.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'autorun',
  GIT_AUTHOR_EMAIL: 'autorun@autorun.dev',
  GIT_COMMITTER_NAME: 'autorun',
  GIT_COMMITTER_EMAIL: 'autorun@autorun.dev',
};

function git(args: string[], cwd?: string): string {
  return execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', ...args], {
    cwd,
    env: { ...process.env, ...GIT_ENV },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** True for URLs git treats as remote (scheme://, or scp-like user@host:path), not local paths. */
export function isRemoteUrl(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/\s:]+@[^/\s:]+:/.test(url);
}

/** A local path is taken relative to the manifest that names it, so a task file can say `url: .`. */
export function resolveRepositoryUrl(url: string, manifestFile: string): string {
  if (isRemoteUrl(url) || isAbsolute(url)) return url;
  return resolve(dirname(manifestFile), url);
}

/** Problems with a local-path remote, found before any agent starts. */
export function checkLocalRemote(url: string): string | undefined {
  if (isRemoteUrl(url)) return undefined;
  const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (!existsSync(path)) return `repository ${path} does not exist`;
  try {
    git(['rev-parse', '--git-dir'], path);
  } catch {
    return `repository ${path} is not a git repository`;
  }
  return undefined;
}

/**
 * Creates the bare repository at dir with one commit on baseRef (a README stating the goal and a
 * .gitignore), unless a previous run already did.
 */
export function ensureFreshRepository(dir: string, task: string, goal: string, baseRef = 'main'): void {
  if (existsSync(join(dir, 'HEAD'))) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  const work = mkdtempSync(join(dirname(dir), '.init-'));
  try {
    git(['init', '--quiet', `--initial-branch=${baseRef}`, work]);
    writeFileSync(join(work, 'README.md'), `# ${task}\n\n${goal.trim()}\n`);
    writeFileSync(join(work, '.gitignore'), ['__pycache__/', '*.pyc', '.pytest_cache/', 'node_modules/', '.venv/', ''].join('\n'));
    git(['add', '--all'], work);
    git(['commit', '--quiet', '-m', `${task}: initial commit`], work);
    // Built beside the target and renamed, so an interrupted init never leaves a half-made remote.
    const bare = `${dir}.tmp-${process.pid}`;
    rmSync(bare, { recursive: true, force: true });
    git(['clone', '--quiet', '--bare', work, bare]);
    git(['remote', 'remove', 'origin'], bare);
    renameSync(bare, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
