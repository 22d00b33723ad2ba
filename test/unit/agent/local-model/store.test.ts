// The model cache: a pull is checked against the pinned size and sha256 before it is used, a bad
// download never lands in the cache, and names that are neither known nor paths are refused.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cachedPath, ensureModel, modelFile, ModelError, pullModel } from '../../../../operator/src/agent/local-model/store.js';
import type { CatalogModel } from '../../../../operator/src/agent/local-model/catalog.js';
import { tempDir } from '../helpers.js';

const BYTES = Buffer.from('GGUF' + 'x'.repeat(1000));
let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function serve(body: Buffer): Promise<string> {
  server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/m.gguf`;
}

const modelAt = (url: string, sha256 = createHash('sha256').update(BYTES).digest('hex')): CatalogModel => ({ name: 'tiny', sha256, bytes: BYTES.length, contextSize: 512, sources: [{ kind: 'url', url }] });

test('a download with the pinned sha256 is cached under the name and hash', async () => {
  const env = { AUTORUN_MODEL_CACHE: tempDir() };
  const m = modelAt(await serve(BYTES));
  const path = await pullModel(m, { env });
  expect(path).toBe(cachedPath(m, env));
  expect(path).toMatch(/tiny-[0-9a-f]{16}\.gguf$/);
  expect(readFileSync(path).equals(BYTES)).toBe(true);
});

test('a download that does not match is refused and leaves nothing in the cache', async () => {
  const cache = tempDir();
  const env = { AUTORUN_MODEL_CACHE: cache };
  const corrupt = Buffer.from(BYTES);
  corrupt[10] = 0x79;
  const m = modelAt(await serve(corrupt));
  await expect(pullModel(m, { env })).rejects.toThrow(/sha256 [0-9a-f]{64} does not match the pinned/);
  expect(existsSync(cachedPath(m, env))).toBe(false);
  expect(readdirSync(cache)).toEqual([]);
});

test('names: a path must exist, an unknown name is refused with the known ones', async () => {
  await expect(ensureModel('/nowhere/m.gguf')).rejects.toThrow('model file /nowhere/m.gguf does not exist');
  expect(() => modelFile('gpt-4')).toThrow(ModelError);
  expect(() => modelFile('gpt-4')).toThrow(/qwen2.5-coder-1.5b-instruct-q4_k_m/);
});
