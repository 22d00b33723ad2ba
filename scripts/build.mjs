// `npm run build` (and `prepare`, so `npm ci` leaves a runnable `npx autorun`):
// 1. tsc into dist/ (the type check, and the modules the bench and tests import);
// 2. esbuild bundles the CLI into dist/bundle/: what the image ships and `autorun` runs. Minified
//    and tree-shaken, @kubernetes/client-node costs the operator ~50 MiB less resident memory than
//    loading its 1,900 modules; code splitting keeps the agent from loading the operator's code and
//    the other way round (each command is its own chunk, loaded by commands.ts's dynamic import);
//    the entry, cli.ts, loads commands.ts only once it has checked the Node version;
// 3. the package's bin, dist/operator/src/cli.js: a launcher of the bundle (tsc does not emit cli.ts).
//    It keeps the path the bin always had: `npx autorun` in a clone links the package into npm's
//    npx cache once, bin path included, and a link to a path that moved would stay broken there;
// 4. the bin and the bundle's entry (the image links it as `autorun`, and the Pods exec it) made
//    executable, which neither tool does.
// tsc's exit status is kept; it emits despite type errors, so the rest runs either way.
// --bundle-only skips tsc; --outdir DIR (with it) writes only a fresh bundle into DIR: the image
// build (hack/build-images.sh), whose layer must hold this build's chunks, not dist/'s older ones.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const bundleOnly = process.argv.includes('--bundle-only');
const r = bundleOnly ? { status: 0 } : spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });

const outArg = process.argv.indexOf('--outdir');
const imageOut = outArg > 0 ? resolve(process.argv[outArg + 1]) : undefined;
const outdir = imageOut ?? join(root, 'dist', 'bundle');
const out = await build({
  absWorkingDir: root,
  entryPoints: { autorun: 'operator/src/cli.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  sourcemap: 'linked',
  // Stack traces need only the mappings; the sources are in the repository (and 19 MB is 7 MB less).
  sourcesContent: false,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __autorunRequire } from 'node:module'; const require = __autorunRequire(import.meta.url);" },
  // llama.cpp's native addon and its per-platform prebuilt packages load from node_modules at run time.
  external: ['node-llama-cpp'],
  logLevel: 'warning',
  write: false,
});
// Test files build in parallel jest workers while others run the CLI: a file is replaced by rename
// (atomic) and only when it changed, so no process ever loads a half-written chunk. Chunks of
// earlier builds stay (their names carry a content hash; nothing loads them).
function writeIfChanged(path, contents) {
  const bytes = Buffer.from(contents);
  if (existsSync(path) && Buffer.compare(readFileSync(path), bytes) === 0) return;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
for (const f of out.outputFiles) writeIfChanged(f.path, f.contents);
if (imageOut) {
  chmodSync(join(imageOut, 'autorun.mjs'), 0o755);
  process.exit(0);
}

writeIfChanged(join(root, 'dist', 'operator', 'src', 'cli.js'), "#!/usr/bin/env node\n// autorun's package bin: the esbuild bundle (scripts/build.mjs).\nimport '../../bundle/autorun.mjs';\n");

const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const executables = [...Object.values(typeof bin === 'string' ? { bin } : (bin ?? {})), join('dist', 'bundle', 'autorun.mjs')];
for (const file of executables) {
  if (existsSync(join(root, file))) chmodSync(join(root, file), 0o755);
}
process.exit(r.status ?? 1);
