// The Node.js this program needs, checked by the CLI's entry before it loads anything else: on an
// older Node the first module that uses a newer API would otherwise die with a stack trace of the
// minified bundle. No imports, so the entry that inlines it stays loadable on any Node with ESM.

/** package.json "engines": @kubernetes/client-node 2.x needs Node ≥ 22.19 (a unit test keeps them equal). */
export const REQUIRED_NODE = '22.19';

function parts(v: string): number[] {
  return v.replace(/^v/, '').split('.').map((p) => Number.parseInt(p, 10) || 0);
}

/** True when version (e.g. "20.20.2") is at least required (e.g. "22.19"). */
export function satisfies(version: string, required = REQUIRED_NODE): boolean {
  const have = parts(version);
  const need = parts(required);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    if (h !== need[i]) return h > need[i]!;
  }
  return true;
}

/** The one line to print when this Node is too old, or undefined when it will do. */
export function nodeVersionProblem(version: string, execPath: string, required = REQUIRED_NODE): string | undefined {
  if (satisfies(version, required)) return undefined;
  return `autorun needs Node.js >= ${required}, but ${execPath} is Node.js ${version}: put a newer node first on PATH (a clone after \`npm ci\` has one in node_modules/.bin)`;
}
