// The git workspace of a stage. See stageRefs() in context.ts for the ref scheme. Merges of code and
// tests are deterministic (fixed identity, dates taken from the parents), so run, repair and the
// branch update all compute the same commit id from the same two inputs without sharing state.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve as absolute } from 'node:path';
import { execFileCapped } from './exec.js';
import type { ExecResult } from './exec.js';

export const AUTHOR = { name: 'autorun', email: 'autorun@autorun.dev' };
/** Date of the synthetic root commit made when the remote has no commits yet. */
const EMPTY_BASE_DATE = '946684800 +0000';
const GIT_TIMEOUT_MS = 10 * 60_000;

export class GitError extends Error {}

/** Exit status git uses for "no" (rev-parse --verify --quiet, merge-base --is-ancestor, ls-files --error-unmatch). */
const NO = 1;
/** Exit status of `ls-remote --exit-code` when the remote answered and has no such ref. */
const NO_SUCH_REMOTE_REF = 2;

/** Removes credentials from URLs in text (https://user:token@host → https://***@host). */
export function scrubUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

/**
 * What git said, for the stage result: its fatal/error lines (the cause; the lines after them are
 * generic advice such as "Please make sure you have the correct access rights"), else the last lines.
 */
export function gitMessage(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^(remote: )?(fatal|error):/i.test(l));
  return (errors.length ? errors.slice(0, 4) : lines.slice(-3)).join(' ').slice(0, 1000);
}

export class Git {
  /**
   * gitDir: the repository outside the work tree, where the model's commands run elsewhere (an LLM
   * Pod's exec container shares the workspace only). A .git in the shared work tree would let a
   * command set what this git then runs here, next to the token (a clean filter, core.fsmonitor,
   * core.sshCommand) or where it pushes the token to (remote.origin.url); with --git-dir, nothing
   * in the work tree is read as git's own.
   */
  constructor(
    readonly dir: string,
    private readonly baseEnv: NodeJS.ProcessEnv,
    readonly gitDir?: string,
  ) {}

  private config(): string[] {
    // The kubelet creates the workspace emptyDir owned by root while the stage runs as 65532: git
    // would refuse every command there ("detected dubious ownership"). Trusted here, and only here.
    const c = [...(this.gitDir ? [`--git-dir=${this.gitDir}`, `--work-tree=${absolute(this.dir)}`] : []), '-c', `safe.directory=${absolute(this.dir)}`, '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', '-c', 'core.hooksPath=/dev/null', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false'];
    // The token stays in the environment, never in argv or .git/config.
    if (this.baseEnv.AUTORUN_GIT_TOKEN) {
      c.push('-c', 'credential.helper=', '-c', 'credential.helper=!f() { test "$1" = get && echo username=x-access-token && echo "password=$AUTORUN_GIT_TOKEN"; }; f');
    }
    return c;
  }

  /** Runs git; returns stdout, trimmed unless `raw` (porcelain output starts with significant spaces). */
  async run(args: string[], extraEnv: NodeJS.ProcessEnv = {}, raw = false): Promise<string> {
    const r = await this.exec(args, extraEnv);
    if (r.exitCode !== 0) throw this.failure(args, r);
    return raw ? r.stdout : r.stdout.trim();
  }

  /**
   * Runs git where exit status `no` is an answer, not a failure: returns undefined for it, and
   * throws git's own message for anything else (a broken clone must not read as "not found").
   */
  async tryRun(args: string[], no = NO): Promise<string | undefined> {
    const r = await this.exec(args);
    if (r.exitCode === 0) return r.stdout.trim();
    if (r.exitCode === no) return undefined;
    throw this.failure(args, r);
  }

  private failure(args: string[], r: ExecResult): GitError {
    const what = args.filter((a) => !a.includes('://')).slice(0, 3).join(' ');
    return new GitError(scrubUrl(`git ${what} failed${r.timedOut ? ' (timeout)' : ''}: ${gitMessage(r.output)}`));
  }

  private exec(args: string[], extraEnv: NodeJS.ProcessEnv = {}, withGitDir = true): Promise<ExecResult> {
    const env: NodeJS.ProcessEnv = {
      ...this.baseEnv,
      // git's messages reach the stage result as they are: untranslated.
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: AUTHOR.name,
      GIT_AUTHOR_EMAIL: AUTHOR.email,
      GIT_COMMITTER_NAME: AUTHOR.name,
      GIT_COMMITTER_EMAIL: AUTHOR.email,
      ...extraEnv,
    };
    const config = this.config();
    return execFileCapped('git', withGitDir ? [...config, ...args] : config.filter((a) => !a.startsWith('--git-dir=') && !a.startsWith('--work-tree=')).concat(args), { cwd: this.dir, env, timeoutMs: GIT_TIMEOUT_MS, maxOutputBytes: 4 << 20 });
  }

  /** Clones url into dir (which must be missing or empty), or reuses a clone already there. */
  async clone(url: string): Promise<void> {
    if (existsSync(this.gitDir ?? join(this.dir, '.git'))) return;
    await mkdir(this.dir, { recursive: true });
    if ((await readdir(this.dir)).length) throw new GitError(`workspace ${this.dir} is not empty and not a git clone`);
    if (!this.gitDir) {
      await this.run(['clone', '--quiet', '--no-checkout', '--', url, '.']);
      return;
    }
    // Cloned without --git-dir (clone takes its own), then the work tree's .git pointer removed: every
    // later call names the repository, and nothing there may point this git elsewhere.
    await this.exec(['clone', '--quiet', '--no-checkout', `--separate-git-dir=${this.gitDir}`, '--', url, '.'], {}, false).then((r) => {
      if (r.exitCode !== 0) throw this.failure(['clone', url], r);
    });
    await rm(join(this.dir, '.git'), { force: true });
  }

  async resolve(rev: string): Promise<string | undefined> {
    return this.tryRun(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  }

  /** Fetches a ref or commit from origin; returns its commit id, or undefined when the remote lacks it. */
  async fetch(ref: string): Promise<string | undefined> {
    if (/^[0-9a-f]{40}$/.test(ref)) {
      const local = await this.resolve(ref);
      if (local) return local;
    }
    let r = await this.exec(['fetch', '--quiet', '--', 'origin', ref]);
    if (r.exitCode !== 0) {
      // git fetch exits 128 for a missing ref and for everything else alike: ask the remote. A
      // commit id is never a remote ref name, so for one the answer is "not found" too.
      const listed = await this.tryRun(['ls-remote', '--exit-code', '--', 'origin', ref], NO_SUCH_REMOTE_REF);
      if (listed === undefined) return undefined;
      // Listed: a parallel stage may have pushed it just now (the test role fetches the code ref
      // while the code role runs), so fetch once more; a second failure is git's real one.
      r = await this.exec(['fetch', '--quiet', '--', 'origin', ref]);
      if (r.exitCode !== 0) throw this.failure(['fetch', 'origin', ref], r);
    }
    return this.resolve('FETCH_HEAD');
  }

  /**
   * The commit to start from: baseRef as a remote branch, tag or commit; else the remote's default
   * branch; else (an empty repository) a synthetic root commit that every stage computes identically.
   */
  async base(baseRef: string | undefined): Promise<string> {
    if (baseRef) {
      const found = (await this.resolve(`origin/${baseRef}`)) ?? (await this.fetch(baseRef)) ?? (await this.resolve(baseRef));
      if (found) return found;
      const any = await this.tryRun(['rev-parse', '--verify', '--quiet', 'origin/HEAD']);
      if (any !== undefined || (await this.hasRemoteCommits())) throw new GitError(`base ref ${baseRef} not found in the repository`);
    } else {
      const head = await this.resolve('origin/HEAD');
      if (head) return head;
      if (await this.hasRemoteCommits()) throw new GitError('the repository has no default branch; set repository.baseRef');
    }
    const tree = await this.run(['hash-object', '-t', 'tree', '/dev/null']);
    const fixed = { GIT_AUTHOR_DATE: EMPTY_BASE_DATE, GIT_COMMITTER_DATE: EMPTY_BASE_DATE };
    return this.run(['commit-tree', tree, '-m', 'autorun: empty base'], fixed);
  }

  private async hasRemoteCommits(): Promise<boolean> {
    return (await this.run(['ls-remote', '--heads', '--tags', '--', 'origin'])).length > 0;
  }

  /** commit is a resolved id: git 2.39's checkout --detach takes no --end-of-options. */
  async checkout(commit: string): Promise<void> {
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new GitError(`not a commit id: ${commit}`);
    await this.run(['checkout', '--quiet', '--force', '--detach', commit]);
    await this.run(['clean', '-fdq']);
  }

  async head(): Promise<string> {
    return this.run(['rev-parse', 'HEAD']);
  }

  async isAncestor(a: string, b: string): Promise<boolean> {
    return (await this.tryRun(['merge-base', '--is-ancestor', '--end-of-options', a, b])) !== undefined;
  }

  /**
   * Checks out merge(code, tests) and returns its id. Same inputs, same id: the merge commit's
   * identity is fixed and its dates are the later parent's committer date.
   */
  async mergeCodeAndTests(code: string, tests: string): Promise<string> {
    await this.checkout(code);
    if (await this.isAncestor(tests, code)) return code;
    if (await this.isAncestor(code, tests)) {
      await this.checkout(tests);
      return tests;
    }
    const dates = (await this.run(['log', '-1', '--format=%ct', '--end-of-options', code])) + '\n' + (await this.run(['log', '-1', '--format=%ct', '--end-of-options', tests]));
    const latest = Math.max(...dates.split('\n').map(Number));
    const fixed = { GIT_AUTHOR_DATE: `${latest} +0000`, GIT_COMMITTER_DATE: `${latest} +0000` };
    try {
      await this.run(['merge', '--quiet', '--no-ff', '--no-edit', '-m', 'autorun: merge code and tests', '--end-of-options', tests], fixed);
    } catch (e) {
      await this.exec(['merge', '--abort']);
      throw new GitError(`code and tests do not merge cleanly: ${(e as Error).message}`);
    }
    return this.head();
  }

  /** Paths changed in the work tree (tracked and untracked), relative to the root. */
  async changedPaths(): Promise<string[]> {
    const out = await this.run(['status', '--porcelain=v1', '-z', '--untracked-files=all'], {}, true);
    const paths: string[] = [];
    const parts = out.split('\0').filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      const entry = parts[i]!;
      paths.push(entry.slice(3));
      if (entry[0] === 'R' || entry[0] === 'C') i++; // the rename's source follows
    }
    return paths;
  }

  /** Tracked paths whose work-tree file differs from HEAD (changed, deleted or turned into a symlink). */
  async trackedChanges(): Promise<string[]> {
    return (await this.run(['diff', '--name-only', '--no-renames', '-z', 'HEAD', '--'], {}, true)).split('\0').filter(Boolean);
  }

  /** A file's content at a commit, or undefined where the commit has no such file. */
  async show(commit: string, path: string): Promise<string | undefined> {
    const r = await this.exec(['show', `${commit}:${path}`]);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /** Undoes work-tree changes to these paths (restores tracked files, deletes new ones). */
  async discard(paths: string[]): Promise<void> {
    for (const p of paths) {
      if (await this.tryRun(['ls-files', '--error-unmatch', '--', p])) await this.run(['checkout', '--quiet', 'HEAD', '--', p]);
      else await this.run(['clean', '-fdq', '--', p]);
    }
  }

  /** Commits the given paths; returns the new commit id, or undefined when nothing changed. */
  async commit(paths: string[], message: string): Promise<string | undefined> {
    if (!paths.length) return undefined;
    await this.run(['add', '--all', '--', ...paths]);
    const staged = await this.run(['diff', '--cached', '--name-only']);
    if (!staged) return undefined;
    await this.run(['commit', '--quiet', '--no-verify', '-m', message]);
    return this.head();
  }

  /**
   * Force-pushes commit → ref for each pair (stage refs are rewritten on a fresh start). Retried:
   * parallel stages push to the same remote, whose ref locks can briefly collide; a forced push of
   * the same commits is idempotent.
   */
  async push(updates: { commit: string; ref: string }[], attempts = 4): Promise<void> {
    const specs = updates.map((u) => `+${u.commit}:${u.ref.startsWith('refs/') ? u.ref : `refs/heads/${u.ref}`}`);
    for (let i = 1; ; i++) {
      try {
        await this.run(['push', '--quiet', '--no-verify', '--', 'origin', ...specs]);
        return;
      } catch (e) {
        if (i >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 100 * 2 ** i + Math.random() * 100));
      }
    }
  }
}
