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

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
