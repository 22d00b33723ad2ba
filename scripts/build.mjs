// `npm run build` (and `prepare`, so `npm ci` leaves a runnable `npx autorun`): tsc, then the
// package's bin made executable, which tsc does not do for the files it creates. tsc's exit status is
// kept; it emits despite type errors, so the bin is fixed either way.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const file of Object.values(typeof bin === 'string' ? { bin } : (bin ?? {}))) {
  if (existsSync(join(root, file))) chmodSync(join(root, file), 0o755);
}
process.exit(r.status ?? 1);
