// Where the Go-built control-plane binaries and the repository live. The Makefile exports
// AUTORUN_TOOLS_BIN from hack/build-tools.sh; when a test run starts without it (plain `npm run
// test:integration`), the script is asked here, which reuses its cache or builds once.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const TOOL_NAMES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kwok', 'helm'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/**
 * The checkout root: the nearest ancestor with hack/build-tools.sh of the running script (dist/test/
 * harness/cluster-cli.js, jest's bin) or of the working directory. Not import.meta: jest loads its
 * global setup as CommonJS, where import.meta does not parse.
 */
export function repoRoot(): string {
  const starts = [process.argv[1] ? dirname(process.argv[1]) : undefined, process.cwd()];
  for (const start of starts) {
    for (let dir = start; dir; dir = dirname(dir) === dir ? undefined : dirname(dir)) {
      if (existsSync(join(dir, 'hack', 'build-tools.sh'))) return dir;
    }
  }
  throw new Error(`cannot find the repository root (hack/build-tools.sh) above ${starts.join(' or ')}`);
}

/** The CLI as shipped (package.json "bin", the image's entrypoint): the esbuild bundle. */
export function cliPath(root = repoRoot()): string {
  return join(root, 'dist', 'bundle', 'autorun.mjs');
}

let cached: string | undefined;

export function toolsBinDir(): string {
  if (cached) return cached;
  let dir = process.env.AUTORUN_TOOLS_BIN;
  if (!dir) {
    // stderr passes through so a first, long build shows its progress.
    dir = execFileSync(join(repoRoot(), 'hack', 'build-tools.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    process.env.AUTORUN_TOOLS_BIN = dir;
  }
  for (const name of TOOL_NAMES) {
    try {
      accessSync(join(dir, name), constants.X_OK);
    } catch {
      throw new Error(`${join(dir, name)} is missing or not executable; run hack/build-tools.sh and export AUTORUN_TOOLS_BIN`);
    }
  }
  cached = dir;
  return dir;
}

export function tool(name: ToolName): string {
  return join(toolsBinDir(), name);
}
