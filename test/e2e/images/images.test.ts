// The images hack/build-images.sh builds, unpacked layer by layer as a runtime would and run with
// bubblewrap as the stage user 65532 (test/integration/realnode runs them on a real kubelet): the
// archive names, the config, the executable `autorun` (issue #10: "exec: autorun: Permission
// denied"), Claude Code on PATH, and the run role's copy of /opt/autorun working in the toolchains.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_INSTALL_DIR, CHECKOUT_SCRIPT, RUNNER_DIR } from '../../../operator/src/controller/pods/build.js';
import { tempDir } from '../../unit/agent/helpers.js';

interface ImageEntry {
  ref: string;
  refs: string[];
  archive: string;
  digest: string;
}
interface Descriptor {
  digest: string;
  annotations?: Record<string, string>;
}
interface ImageConfig {
  config: { User?: string; Env?: string[]; Entrypoint?: string[]; WorkingDir?: string };
}

const ROOT = process.cwd();
let images: Record<'autorun' | 'python' | 'node', ImageEntry>;
const unpacked: Record<string, string> = {};
let work: string;

beforeAll(() => {
  const dir = process.env.AUTORUN_IMAGES_DIR || execFileSync(join(ROOT, 'hack', 'build-images.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  images = JSON.parse(readFileSync(join(dir, 'images.json'), 'utf8')) as typeof images;
  work = tempDir('autorun-images-');
}, 1_800_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The archive's OCI layout, extracted once. */
function layout(name: keyof typeof images): string {
  const dir = join(work, `${name}-oci`);
  if (!unpacked[dir]) {
    mkdirSync(dir);
    execFileSync('tar', ['-xf', images[name].archive, '-C', dir]);
    unpacked[dir] = dir;
  }
  return dir;
}
const blob = (oci: string, digest: string): string => join(oci, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
const json = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
function manifest(name: keyof typeof images): { oci: string; layers: string[]; config: ImageConfig } {
  const oci = layout(name);
  const m = json<{ config: Descriptor; layers: Descriptor[] }>(blob(oci, images[name].digest));
  return { oci, layers: m.layers.map((l) => blob(oci, l.digest)), config: json<ImageConfig>(blob(oci, m.config.digest)) };
}

/** The image's root filesystem: its layers applied in order (ours are additive, no whiteouts). */
function rootfs(name: keyof typeof images): string {
  const dir = join(work, `${name}-rootfs`);
  if (!unpacked[dir]) {
    mkdirSync(dir);
    for (const layer of manifest(name).layers) execFileSync('tar', ['-xzf', layer, '-C', dir]);
    unpacked[dir] = dir;
  }
  return dir;
}

/** Runs argv in the image as its configured user and environment, the root read-only, /tmp empty. */
function run(name: keyof typeof images, argv: string[], binds: string[][] = []): { status: number | null; out: string } {
  const { config } = manifest(name);
  // The runtime makes the mount points on the image's root before mounting it read-only.
  for (const [, , target] of binds) mkdirSync(join(rootfs(name), target!), { recursive: true });
  const [uid, gid] = (config.config.User ?? '0:0').split(':');
  const env = (config.config.Env ?? []).flatMap((e) => ['--setenv', e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]);
  const args = ['--ro-bind', rootfs(name), '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', ...binds.flat(), '--unshare-all', '--uid', uid!, '--gid', gid!, '--clearenv', ...env, '--chdir', config.config.WorkingDir || '/', ...argv];
  const r = spawnSync('bwrap', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('each archive names its image for containerd and for skopeo, the autorun image under both chart names', () => {
  for (const name of ['autorun', 'python', 'node'] as const) {
    const index = json<{ manifests: Descriptor[] }>(join(layout(name), 'index.json'));
    const names = index.manifests.map((m) => m.annotations?.['io.containerd.image.name']);
    expect(names).toEqual(images[name].refs);
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual(images[name].refs);
    expect(new Set(index.manifests.map((m) => m.digest))).toEqual(new Set([images[name].digest]));
  }
  const version = json<{ version: string }>(join(ROOT, 'package.json')).version;
  expect(images.autorun.refs).toEqual([`ghcr.io/autorun-dev/autorun:${version}`, `ghcr.io/autorun-dev/autorun-agent:${version}`]);
});

test('skopeo reads the archives by the refs images/README.md pushes them by', () => {
  // What `skopeo copy oci-archive:ARCHIVE:REF docker://REGISTRY/...` reads; a dir: destination
  // stands in for the registry (no network here).
  const dest = join(work, 'skopeo-python');
  execFileSync('skopeo', ['copy', '--quiet', `oci-archive:${images.python.archive}:${images.python.ref}`, `dir:${dest}`]);
  const copied = json<{ layers: Descriptor[] }>(join(dest, 'manifest.json'));
  expect(copied.layers).toHaveLength(manifest('python').layers.length);
  // The autorun archive under its second name, the chart's default agent image.
  const agent = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${images.autorun.archive}:${images.autorun.refs[1]}`], { encoding: 'utf8' })) as { Digest: string };
  expect(agent.Digest).toBe(images.autorun.digest);
});

test('the autorun image: entrypoint, user 65532, HOME=/tmp, and `autorun` an executable script in its own last layer', () => {
  const { config, layers } = manifest('autorun');
  expect(config.config).toMatchObject({ User: '65532:65532', Entrypoint: ['node', `${AGENT_INSTALL_DIR}/dist/bundle/autorun.mjs`], WorkingDir: AGENT_INSTALL_DIR });
  expect(config.config.Env).toEqual(expect.arrayContaining(['HOME=/tmp', 'NODE_ENV=production']));
  // The bundle alone in the last layer: a change of the bundle repacks only that (a few MB).
  const last = execFileSync('tar', ['-tvzf', layers[layers.length - 1]!], { encoding: 'utf8' });
  expect(last).toMatch(/^-rwxr-xr-x 0\/0 .* \.?\/?opt\/autorun\/dist\/bundle\/autorun\.mjs$/m);
  expect(last).toMatch(/^lrwxrwxrwx 0\/0 .* \.?\/?usr\/local\/bin\/autorun -> \/opt\/autorun\/dist\/bundle\/autorun\.mjs$/m);
  expect(last).not.toMatch(/opt\/autorun\/node$/m);
  expect(readFileSync(join(rootfs('autorun'), 'opt/autorun/dist/bundle/autorun.mjs'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
});

test('as the stage user, `autorun` runs from PATH (the LLM roles\' command), with Claude Code, git and ssh beside it', () => {
  const help = run('autorun', ['autorun', 'agent', '--help']);
  expect(help).toMatchObject({ status: 0 });
  expect(help.out).toMatch(/--role/);
  const claude = json<{ devDependencies?: Record<string, string>; dependencies?: Record<string, string> }>(join(ROOT, 'package.json'));
  const pinned = (claude.dependencies ?? {})['@anthropic-ai/claude-code'] ?? (claude.devDependencies ?? {})['@anthropic-ai/claude-code'];
  expect(run('autorun', ['claude', '--version']).out).toContain(`${pinned!.replace(/^[\^~]/, '')} (Claude Code)`);
  expect(run('autorun', ['git', '--version'])).toMatchObject({ status: 0, out: expect.stringMatching(/^git version 2\./) as string });
  // ssh refuses a uid without a passwd entry.
  expect(run('autorun', ['sh', '-c', 'id -un && ssh -V'])).toMatchObject({ status: 0, out: expect.stringMatching(/^nonroot\nOpenSSH_/) as string });
});

test("the run role's init script copies /opt/autorun, and the copy runs in the python and node toolchains", () => {
  const runner = join(work, 'runner');
  mkdirSync(runner, { mode: 0o777 });
  // The init container's own script (the checkout it then execs needs a task: its --help stands in).
  const script = CHECKOUT_SCRIPT.replace(/exec autorun agent .*$/, 'exec autorun agent --help');
  expect(run('autorun', ['sh', '-c', script, 'checkout', 'run'], [['--bind', runner, RUNNER_DIR]])).toMatchObject({ status: 0 });
  const copy = [['--ro-bind', runner, RUNNER_DIR]];
  for (const toolchain of ['python', 'node'] as const) {
    const r = run(toolchain, [`${RUNNER_DIR}/node`, `${RUNNER_DIR}/dist/bundle/autorun.mjs`, 'agent', '--help'], copy);
    expect(r).toMatchObject({ status: 0 });
    expect(r.out).toMatch(/--phase/);
  }
  expect(run('python', ['python3', '-m', 'pytest', '--version'])).toMatchObject({ status: 0, out: expect.stringMatching(/pytest \d/) as string });
  const jest = json<{ version: string }>(join(ROOT, 'node_modules', 'jest', 'package.json')).version;
  expect(run('node', ['jest', '--version'])).toMatchObject({ status: 0, out: `${jest}\n` });
  expect(run('node', ['npm', '--version'])).toMatchObject({ status: 0 });
});
