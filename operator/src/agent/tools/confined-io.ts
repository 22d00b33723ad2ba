// Reading and writing the files the model names, inside the workspace even when something else
// changes the workspace meanwhile. confine() (paths.ts) resolves a path before it is used; in an LLM
// Pod the model's commands run at the same time in another container sharing the workspace, and a
// process left behind there could swap a directory on the resolved path for a symlink between the
// check and the use (to the key's directory, say: this container holds the key). So the file is
// opened first, without following a final symlink, and where the open file really is — the kernel's
// name for it, /proc/self/fd/N — must be inside the workspace, or nothing is read or written.
import { constants, existsSync, realpathSync } from 'node:fs';
import { open, readlink, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { ToolError } from './types.js';

const HAS_PROC_FD = existsSync('/proc/self/fd');

/** The open file's real path, or undefined where the system does not say (no /proc). */
async function openedPath(fh: FileHandle): Promise<string | undefined> {
  return HAS_PROC_FD ? readlink(`/proc/self/fd/${fh.fd}`) : undefined;
}

function inside(root: string, p: string): boolean {
  const rel = relative(realpathSync(root), p);
  return rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

const moved = (rel: string): ToolError => new ToolError(`${rel} moved outside the workspace while it was being opened`);

/** The file's text; `rel` names it in errors. Throws ToolError for a missing file or one outside. */
export async function readInside(root: string, abs: string, rel: string): Promise<string> {
  let fh: FileHandle;
  try {
    fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    throw new ToolError(`cannot read ${rel}: no such file`);
  }
  try {
    const real = await openedPath(fh);
    if (real !== undefined && !inside(root, real)) throw moved(rel);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Creates or replaces the file's contents, never through a symlink, never outside the workspace. */
export async function writeInside(root: string, abs: string, rel: string, content: string): Promise<void> {
  let fh: FileHandle;
  let created = true;
  try {
    fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ToolError(`cannot write ${rel}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    created = false;
    try {
      fh = await open(abs, constants.O_WRONLY | constants.O_NOFOLLOW);
    } catch (e2) {
      throw new ToolError(`cannot write ${rel}: ${(e2 as NodeJS.ErrnoException).code ?? (e2 as Error).message}`);
    }
  }
  try {
    const real = await openedPath(fh);
    if (real !== undefined && !inside(root, real)) {
      // Opened without truncating: a file outside is left as it was, one made there removed.
      if (created) await unlink(real).catch(() => undefined);
      throw moved(rel);
    }
    await fh.truncate(0);
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
}
