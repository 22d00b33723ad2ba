// Which files belong to whom, and keeping every tool inside the workspace. The test role owns test
// files; code and repair own the rest, so parallel code and test stages never touch the same file.
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ToolError } from './types.js';

const TEST_DIRS = new Set(['test', 'tests', '__tests__', 'spec', 'testdata', 'autorun-acceptance']);
const TEST_FILE = [
  /^test_.*\.py$/,
  /_test\.py$/,
  /^conftest\.py$/,
  /_test\.go$/,
  /\.(test|spec)\.[cm]?[jt]sx?$/,
];
/** Files the test role may read besides tests: what tells it how the project is built and run. */
const PROJECT_FILE = [
  /^package\.json$/,
  /^tsconfig(\..*)?\.json$/,
  /^jest\.config\.[cm]?[jt]s$/,
  /^(pyproject\.toml|setup\.cfg|pytest\.ini|tox\.ini)$/,
  /^requirements.*\.txt$/,
  /^go\.(mod|sum)$/,
  /\.(md|rst|txt)$/i,
];

/** Path relative to the workspace, with forward slashes. */
export function isTestPath(rel: string): boolean {
  const parts = rel.split(/[\\/]/).filter(Boolean);
  const base = parts[parts.length - 1] ?? '';
  return parts.slice(0, -1).some((d) => TEST_DIRS.has(d)) || TEST_FILE.some((re) => re.test(base));
}

export function isProjectFile(rel: string): boolean {
  const base = rel.split(/[\\/]/).pop() ?? '';
  return PROJECT_FILE.some((re) => re.test(base));
}

/** Deepest existing ancestor's real path, so a symlink cannot lead a new file outside. */
function realExisting(p: string): string {
  let cur = p;
  for (;;) {
    try {
      const real = realpathSync(cur);
      return cur === p ? real : resolve(real, relative(cur, p));
    } catch {
      const up = dirname(cur);
      if (up === cur) return p;
      cur = up;
    }
  }
}

/**
 * Resolves a path the model gave (relative to the workspace, or absolute inside it) and returns the
 * absolute and workspace-relative forms; anything outside, through `..` or a symlink, or into .git,
 * is refused.
 */
export function confine(root: string, given: string): { abs: string; rel: string } {
  if (typeof given !== 'string' || given.includes('\0')) throw new ToolError('invalid path');
  const realRoot = realpathSync(root);
  const abs = isAbsolute(given) ? resolve(given) : resolve(root, given);
  const real = realExisting(abs);
  const rel = relative(realRoot, real);
  if (rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) throw new ToolError(`path ${given} is outside the workspace`);
  const relFwd = rel.split(sep).join('/');
  if (relFwd === '.git' || relFwd.startsWith('.git/')) throw new ToolError('the .git directory is managed by the agent, not the model');
  return { abs: real, rel: relFwd };
}
