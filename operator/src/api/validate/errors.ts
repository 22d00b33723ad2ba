/** One problem with one field of a resource, e.g. {path: "spec.limits.maxIterations", message: "must be <= 20"}. */
export interface FieldError {
  path: string;
  message: string;
}

export function formatFieldError(e: FieldError): string {
  if (!e.path) return e.message;
  // CRD rule messages often start with the field path themselves; say it once.
  const msg = e.message.startsWith(`${e.path} `) ? e.message.slice(e.path.length + 1) : e.message;
  return `${e.path}: ${msg}`;
}

/** The closest known name to a misspelt one, when it is close enough to be a likely typo. */
export function suggest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) { best = k; bestDistance = d; }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
