// Prints, one a line, the node_modules package directories (relative to the checkout) that the
// bundle's external packages need at run time: node-llama-cpp and the closure of its dependencies
// as `npm ci` installed them from the lock (the very versions the tests ran), plus only the
// prebuilt llama.cpp binaries named on the command line (linux-x64 by default; the CUDA ones are
// 540 MB and need the CUDA runtime, see README "The local engine in the cluster").
//   node hack/images/runtime-modules.mjs [@node-llama-cpp/linux-x64 ...]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binaries = process.argv.slice(2).length ? process.argv.slice(2) : ['@node-llama-cpp/linux-x64'];

/** Node's lookup: <dir>/node_modules/<name>, then each parent's, up to the checkout. */
function resolveFrom(dir, name) {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (d === root || d === dirname(d)) return undefined;
  }
}

const seen = new Set();
function visit(dir) {
  if (seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const wanted = { ...pkg.dependencies };
  // Optional dependencies: only the chosen binaries of node-llama-cpp; others when installed.
  for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
    if (name.startsWith('@node-llama-cpp/') ? binaries.includes(name) : resolveFrom(dir, name)) wanted[name] = pkg.optionalDependencies[name];
  }
  for (const name of Object.keys(wanted)) {
    const found = resolveFrom(dir, name);
    if (!found) {
      if (pkg.optionalDependencies?.[name] && !binaries.includes(name)) continue;
      throw new Error(`${relative(root, dir)} needs ${name}, which is not installed (npm ci)`);
    }
    visit(found);
  }
}

const top = resolveFrom(root, 'node-llama-cpp');
if (!top) throw new Error('node-llama-cpp is not installed (npm ci)');
visit(top);
for (const b of binaries) if (![...seen].some((d) => d.endsWith(join('node_modules', b)))) throw new Error(`${b} is not installed (npm ci installs the binaries of this platform only)`);
for (const d of [...seen].sort()) console.log(relative(root, d));
