// The implementation as a session was handed it, to put back when a change made things worse
// (regression.ts). Kept in memory: the model's commands share the workspace and its git checkout,
// and nothing of the model's may decide what a restore writes. Written back as the file tools
// write, never through a symlink and never outside the workspace (tools/confined-io.ts).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeInside } from '../tools/confined-io.js';
import { confine, isTestPath } from '../tools/paths.js';
import { ToolError } from '../tools/types.js';

/** Bigger files are left out: an implementation file past this is not one a small model rewrites. */
const MAX_FILE_BYTES = 256 * 1024;

export interface CodeSnapshot {
  /** Writes back every kept file that changed since; returns their paths. */
  restore(): Promise<string[]>;
  /** A kept file's text as handed. */
  content(path: string): string | undefined;
}

function readText(abs: string): string | undefined {
  try {
    if (statSync(abs).size > MAX_FILE_BYTES) return undefined;
    const bytes = readFileSync(abs);
    const text = bytes.toString('utf8');
    // Only text round-trips; a binary file is not put back half right.
    return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Every file but the tests, as it is now. */
export function snapshotCode(workspace: string, files: readonly string[]): CodeSnapshot {
  const kept = new Map<string, string>();
  for (const f of files) {
    if (isTestPath(f)) continue;
    const text = readText(join(workspace, f));
    if (text !== undefined) kept.set(f, text);
  }
  return {
    restore: async () => {
      const restored: string[] = [];
      for (const [f, text] of kept) {
        try {
          const { abs, rel } = confine(workspace, f);
          if (readText(abs) === text) continue;
          await writeInside(workspace, abs, rel, text);
          restored.push(f);
        } catch (e) {
          // A path the model turned into a way out of the workspace stays as the model left it.
          if (!(e instanceof ToolError)) throw e;
        }
      }
      return restored;
    },
    content: (f) => kept.get(f),
  };
}
