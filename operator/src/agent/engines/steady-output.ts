// Greedy decoding repeats a session exactly only when the model's inputs repeat too. Two things in a
// command's output differ from run to run while meaning nothing to the task: wall-clock figures
// (pytest's "4 passed in 0.03s", go test's "ok  pkg  0.004s", jest's "Time: 1.2 s") and the
// workspace's absolute path (a temporary directory). The local engine shows the model a command's
// output with those taken out, so the same task takes the same path on every run. File contents
// are never touched (the model edits them by exact text), but for one wrapper small models add.

// pytest "in 0.03s", jest "Time: 1.2 s", go test's decimal seconds "0.004s".
const DURATIONS = [/\bin \d+(?:\.\d+)?s\b/g, /\bTime:\s+\d+(?:\.\d+)?\s?m?s\b/g, /(?<=\s)\d+\.\d+m?s\b/g];

export function steadyOutput(text: string, workspace: string): string {
  let out = text;
  const root = workspace.replace(/\/+$/, '');
  if (root) out = out.split(`${root}/`).join('').split(root).join('.');
  for (const d of DURATIONS) out = out.replace(d, (m) => m.replace(/\d+(?:\.\d+)?\s?m?s$/, '…'));
  return out;
}

/** Source files that can never start with a markup tag. */
const SOURCE = /\.(py|js|cjs|mjs|ts|tsx|jsx|go|rs|java|rb|sh)$/;

/**
 * A small model under a grammar often wraps a file's content in a tag pair of its own (seen on real
 * output: `<tests>\n…\n</tests>` around a pytest file). In a source file such a first line is never
 * valid, so the pair is taken off; anything else is left as written.
 */
export function unwrapSource(path: string, content: string): string {
  if (!SOURCE.test(path)) return content;
  const m = /^\s*<([A-Za-z][\w-]*)>[ \t]*\n([\s\S]*?)\n?[ \t]*<\/\1>\s*$/.exec(content);
  return m ? `${m[2]!.replace(/\s+$/, '')}\n` : content;
}
