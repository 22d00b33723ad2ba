// How many local-engine model contexts may be loaded on this machine at once. On a CPU two contexts
// do not run faster than one (they split the same cores) but each holds ~2.3 GB, so by default the
// local tier's parallel stages (code ∥ test) take turns: the second waits for the first to finish.
// A slot is a file holding its owner's pid; a slot whose process is gone (killed, crashed) is free.
// In the cluster every Pod has its own /tmp, so a slot there serialises nothing but its own stage.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../local/lock.js';

/** Contexts at once on this machine (AUTORUN_LOCAL_SLOTS, default 1; 0 for no limit). */
export const LOCAL_SLOTS_ENV = 'AUTORUN_LOCAL_SLOTS';
/** Where the slot files are (default <tmpdir>/autorun-<uid>-local-engine). */
export const LOCAL_SLOTS_DIR_ENV = 'AUTORUN_LOCAL_SLOTS_DIR';

const POLL_MS = 1000;

export function slotCount(env: NodeJS.ProcessEnv): number {
  const raw = env[LOCAL_SLOTS_ENV];
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${LOCAL_SLOTS_ENV}=${JSON.stringify(raw)}: expected a whole number of model contexts (0 for no limit)`);
  return n;
}

export function slotDir(env: NodeJS.ProcessEnv): string {
  return env[LOCAL_SLOTS_DIR_ENV] || join(tmpdir(), `autorun-${userInfo().uid}-local-engine`);
}

function holder(path: string): number | undefined {
  try {
    const pid = Number(JSON.parse(readFileSync(path, 'utf8')).pid);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes one slot file now, or returns the pids of the live holders. */
function tryTake(dir: string, n: number, what: string): { release: () => void } | { holders: number[] } {
  const holders: number[] = [];
  for (let i = 0; i < n; i++) {
    const path = join(dir, `slot-${i}`);
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = holder(path);
      if (pid !== undefined && (pid === process.pid || pidAlive(pid))) {
        holders.push(pid);
        continue;
      }
      // Its owner is gone (or died between create and write): free it; the next poll may take it.
      rmSync(path, { force: true });
      holders.push(0);
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString(), what }) + '\n');
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (holder(path) === process.pid) rmSync(path, { force: true });
      },
    };
  }
  return { holders };
}

/**
 * Waits for a free slot and returns its release. `log` hears once that this stage waits, and for
 * whom. A stage stopped while it waits ends with its process (SIGTERM), holding nothing.
 */
export async function takeSlot(env: NodeJS.ProcessEnv, what: string, log: (holders: number[]) => void): Promise<() => void> {
  const n = slotCount(env);
  if (n === 0) return () => {};
  const dir = slotDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let said = false;
  for (;;) {
    const r = tryTake(dir, n, what);
    if ('release' in r) return r.release;
    if (!said && r.holders.some((p) => p > 0)) {
      said = true;
      log(r.holders.filter((p) => p > 0));
    }
    await new Promise((ok) => setTimeout(ok, r.holders.includes(0) ? 0 : POLL_MS));
  }
}
