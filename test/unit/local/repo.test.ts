import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLocalRemote, ensureFreshRepository, isRemoteUrl, resolveRepositoryUrl } from '../../../operator/src/local/repo.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'autorun-repo-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('repo', () => {
  test('a fresh bare repository with one commit on the base ref, made once', () => {
    const repo = join(root, 'fizzbuzz', 'repo');
    ensureFreshRepository(repo, 'fizzbuzz', 'Implement fizzbuzz', 'main');
    expect(git(repo, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(git(repo, 'log', '--format=%s', 'main')).toBe('fizzbuzz: initial commit');
    expect(git(repo, 'show', 'main:README.md')).toBe('# fizzbuzz\n\nImplement fizzbuzz');
    expect(git(repo, 'remote')).toBe('');
    const head = git(repo, 'rev-parse', 'main');
    ensureFreshRepository(repo, 'fizzbuzz', 'Implement fizzbuzz', 'main');
    expect(git(repo, 'rev-parse', 'main')).toBe(head);
    // The agents can clone it.
    git(root, 'clone', '--quiet', repo, 'clone');
    expect(git(join(root, 'clone'), 'log', '--oneline').split('\n')).toHaveLength(1);
  });

  test('URLs stay as they are; paths are relative to the manifest', () => {
    expect(isRemoteUrl('https://github.com/a/b.git')).toBe(true);
    expect(isRemoteUrl('git@github.com:a/b.git')).toBe(true);
    expect(isRemoteUrl('file:///srv/repo')).toBe(true);
    expect(isRemoteUrl('../repo')).toBe(false);
    expect(resolveRepositoryUrl('../repo', '/work/tasks/task.yaml')).toBe('/work/repo');
    expect(resolveRepositoryUrl('/srv/repo', '/work/tasks/task.yaml')).toBe('/srv/repo');
    expect(resolveRepositoryUrl('ssh://host/repo', '/work/tasks/task.yaml')).toBe('ssh://host/repo');
  });

  test('a local remote must exist and be a git repository', () => {
    expect(checkLocalRemote(join(root, 'missing'))).toMatch(/does not exist/);
    expect(checkLocalRemote(root)).toMatch(/is not a git repository/);
    git(root, 'init', '--quiet');
    expect(checkLocalRemote(root)).toBeUndefined();
    expect(checkLocalRemote('https://example.invalid/repo.git')).toBeUndefined();
  });
});
