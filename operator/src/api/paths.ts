import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: the nearest ancestor holding crds/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'crds')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function crdsDir(): string {
  return process.env.AUTORUN_CRDS_DIR ?? join(packageRoot(), 'crds');
}
