// The file this `autorun` was started from: dist/bundle/autorun.mjs (the package bin launches it
// too). Bundled, no module but the entry knows where the program is (the rest live in chunks), so
// the entry records it for what starts `autorun agent` processes.
let entry: string | undefined;

export function setCliEntry(path: string): void {
  entry = path;
}

/** Undefined when autorun was not started from its CLI (a test calling a main() in process). */
export function cliEntry(): string | undefined {
  return entry;
}
