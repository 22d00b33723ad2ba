// Kubernetes quantities as bytes, for adding storage sizes up. client-node's quantityToScalar is not
// exported from its package index and refuses fractions with a suffix ("1.5Gi"), which the schema allows.
const SUFFIX: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Bytes in a quantity such as 4Gi, 500M, 1.5Gi or 1e9; throws on anything else. */
export function quantityBytes(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^\+?((?:[0-9]+(?:\.[0-9]*)?)|(?:\.[0-9]+))(?:([KMGTPE]i|[kMGTPE])|[eE]\+?([0-9]+))?$/.exec(q.trim());
  if (!m) throw new Error(`not a storage quantity: ${q}`);
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  return n * SUFFIX[m[2] ?? '']!;
}

/** Bytes as a quantity in whole MiB, rounded up (the form the apiserver keeps as written). */
export function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}Mi`;
}
