// The built CLI on a Node older than package.json's engines: as `npx --prefix <clone> autorun` runs
// it from outside the clone, with the machine's own node first on PATH. It must say so in one line
// before it loads anything that needs the newer Node, through the package bin and the bundle alike.
// And stack traces of the bundle name the project's source files (linked source maps).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { REQUIRED_NODE, satisfies } from '../../../operator/src/node-version.js';
import { build, CLI, cliEnv, REPO_ROOT } from './helpers.js';

beforeAll(() => build(), 120_000);

/** Every node on this machine outside node_modules: PATH's, the system's, nvm's and pyenv's nodeenvs. */
function nodesOnMachine(): string[] {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d && !d.includes('node_modules'));
  const found = dirs.map((d) => join(d, 'node'));
  found.push('/usr/bin/node', '/usr/local/bin/node');
  const nvm = join(homedir(), '.nvm', 'versions', 'node');
  if (existsSync(nvm)) for (const v of readdirSync(nvm)) found.push(join(nvm, v, 'bin', 'node'));
  return [...new Set(found)].filter((f) => existsSync(f));
}

function oldNode(): { bin: string; version: string } {
  for (const bin of nodesOnMachine()) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    const version = r.stdout?.trim().replace(/^v/, '');
    // ES modules with top-level await (the bundle's entry) need Node 14.8.
    if (r.status === 0 && version && !satisfies(version) && satisfies(version, '14.8')) return { bin, version };
  }
  throw new Error(`this test needs a Node.js older than ${REQUIRED_NODE} outside node_modules (found: ${nodesOnMachine().join(', ') || 'none'}); install one, e.g. apt-get install nodejs on Debian bookworm/trixie`);
}

test.each([
  ['the package bin (npx autorun)', 'dist/operator/src/cli.js'],
  ['the bundle (the image entrypoint)', 'dist/bundle/autorun.mjs'],
])('on an old Node, %s says in one line which Node it needs, and exits 1', (_, entry) => {
  const { bin, version } = oldNode();
  const dir = mkdtempSync(join(tmpdir(), 'autorun-e2e-oldnode-'));
  try {
    const r = spawnSync(bin, [join(REPO_ROOT, entry), 'run', 'task.yaml'], { cwd: dir, env: cliEnv(undefined), encoding: 'utf8' });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `autorun needs Node.js >= ${REQUIRED_NODE}, but ${bin} is Node.js ${version}: put a newer node first on PATH (a clone after \`npm ci\` has one in node_modules/.bin)\n`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on an old Node, `npx --prefix <clone> autorun` from outside the clone says the same one line', () => {
  const { bin, version } = oldNode();
  const npx = join(dirname(bin), 'npx');
  if (!existsSync(npx)) throw new Error(`no npx beside ${bin}: this test runs the old Node's own npx`);
  const dir = mkdtempSync(join(tmpdir(), 'autorun-e2e-oldnpx-'));
  try {
    const env = Object.fromEntries(Object.entries(cliEnv(undefined)).filter(([k]) => !/^npm_/i.test(k)));
    env.PATH = [dirname(bin), ...(process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules'))].join(delimiter);
    env.npm_config_update_notifier = 'false';
    // npm's own EBADENGINE warning for the clone (shown or not depending on npm's cache state) is
    // npm's word, not ours: only errors from npm, so stderr is autorun's alone.
    env.npm_config_loglevel = 'error';
    const r = spawnSync(npx, ['--no-install', '--prefix', REPO_ROOT, 'autorun', 'run', 'task.yaml'], { cwd: dir, env, encoding: 'utf8' });
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 1,
      stderr: `autorun needs Node.js >= ${REQUIRED_NODE}, but ${bin} is Node.js ${version}: put a newer node first on PATH (a clone after \`npm ci\` has one in node_modules/.bin)\n`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stack trace from the bundle names the TypeScript source files, not the minified chunks', () => {
  // An error nothing catches: the state directory is a regular file, so taking its lock throws.
  const dir = mkdtempSync(join(tmpdir(), 'autorun-e2e-stack-'));
  try {
    writeFileSync(join(dir, 'state'), 'not a directory\n');
    const r = spawnSync(process.execPath, [CLI, 'run', join(REPO_ROOT, 'manifests/examples/local/fizzbuzz.yaml'), '--state-dir', join(dir, 'state')], {
      cwd: dir,
      env: cliEnv('http://127.0.0.1:9'),
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    const frames = r.stderr.split('\n').filter((l) => /^\s+at /.test(l));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.some((f) => f.includes(join(REPO_ROOT, 'operator/src/local/run.ts')))).toBe(true);
    expect(frames.filter((f) => f.includes('/dist/bundle/chunks/'))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
