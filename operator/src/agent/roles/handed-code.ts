// The implementation as a session was handed it, to put back when a change made things worse
// (regression.ts): the commit the session started from, in the stage's own repository, which the
// model's commands cannot reach (git.ts); git writes it back, replacing a symlink the model left
// rather than writing through it. Tracked files only: a file the model added stays, as the tests'
// bytecode caches do.
import type { Git } from '../git.js';
import { isTestPath } from '../tools/paths.js';

export interface HandedCode {
  /** Writes back every implementation file that changed since; returns their paths. */
  restore(): Promise<string[]>;
  /** A file's text as handed. */
  content(path: string): Promise<string | undefined>;
}

export function handedCode(git: Git, start: string): HandedCode {
  return {
    restore: async () => {
      const changed = (await git.trackedChanges()).filter((p) => !isTestPath(p));
      if (changed.length) await git.discard(changed);
      return changed;
    },
    content: (path) => git.show(start, path),
  };
}
