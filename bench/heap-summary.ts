// `node dist/bench/heap-summary.js FILE.heapsnapshot [TOP]`: what a V8 heap snapshot holds, as
// DevTools' summary view shows it but in a terminal: per constructor the objects' count, their own
// size and the size they retain (objects of a class dominated by another object of the same class
// are counted once, within it), and the largest single retainers with the path that keeps them.
// Retained sizes come from the dominator tree (Cooper, Harvey and Kennedy's iterative algorithm),
// ignoring weak edges as DevTools does. `make bench` writes the snapshot with BENCH_HEAP_SNAPSHOT=DIR.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const MiB = 2 ** 20;

export interface ClassRow {
  name: string;
  count: number;
  selfMiB: number;
  retainedMiB: number;
}

export interface HeapSummary {
  totalMiB: number;
  nodes: number;
  classes: ClassRow[];
  retainers: { node: string; retainedMiB: number; path: string[] }[];
}

export function summarize(snap: Snapshot, top = 25): HeapSummary {
  const { meta } = snap.snapshot;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSelf = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const WEAK = edgeTypes.indexOf('weak');
  const SHORTCUT = edgeTypes.indexOf('shortcut');
  const { nodes, edges, strings } = snap;
  const n = nodes.length / NF;

  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * NF + nEdges]! * EF;
    firstEdge[i + 1] = e;
  }
  const strong = (e: number): boolean => edges[e + eType] !== WEAK && edges[e + eType] !== SHORTCUT;
  const target = (e: number): number => edges[e + eTo]! / NF;

  // A class name as DevTools groups them: objects by constructor, everything else by its type.
  const className = (i: number): string => {
    const type = nodeTypes[nodes[i * NF + nType]!]!;
    const name = strings[nodes[i * NF + nName]!]!;
    if (type === 'object' || type === 'native') return name;
    if (type === 'closure') return `(closure) ${name}`.slice(0, 80);
    return `(${type})`;
  };

  // Post-order from the root (node 0) along strong edges.
  const order = new Int32Array(n).fill(-1);
  const post: number[] = [];
  {
    const stack: number[] = [0];
    const next = new Uint32Array(n);
    const seen = new Uint8Array(n);
    seen[0] = 1;
    for (let i = 0; i < n; i++) next[i] = firstEdge[i]!;
    while (stack.length) {
      const v = stack[stack.length - 1]!;
      let pushed = false;
      while (next[v]! < firstEdge[v + 1]!) {
        const e = next[v]!;
        next[v] = e + EF;
        if (!strong(e)) continue;
        const w = target(e);
        if (!seen[w]) {
          seen[w] = 1;
          stack.push(w);
          pushed = true;
          break;
        }
      }
      if (!pushed) {
        stack.pop();
        order[v] = post.length;
        post.push(v);
      }
    }
  }
  // Predecessors (reachable ones only).
  const predCount = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (order[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF) if (strong(e)) predCount[target(e) + 1]!++;
  }
  for (let i = 0; i < n; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[n]!);
  const fill = predCount.slice();
  for (let v = 0; v < n; v++) {
    if (order[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += EF) if (strong(e)) preds[fill[target(e)]!++] = v;
  }
  // Immediate dominators, by post-order number.
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = post.length - 2; k >= 0; k--) {
      const v = post[k]!;
      let d = -1;
      for (let p = predCount[v]!; p < predCount[v + 1]!; p++) {
        const u = preds[p]!;
        if (idom[u]! < 0) continue;
        d = d < 0 ? u : intersect(u, d);
      }
      if (d >= 0 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  // Retained sizes: children before parents in post-order.
  const retained = new Float64Array(n);
  for (const v of post) retained[v]! += nodes[v * NF + nSelf]!;
  for (const v of post) if (v !== 0) retained[idom[v]!]! += retained[v]!;

  // Per class: a node counts toward its class's retained size unless a dominator has the same class.
  const byClass = new Map<string, ClassRow>();
  const children: number[][] = Array.from({ length: n }, () => []);
  for (const v of post) if (v !== 0) children[idom[v]!]!.push(v);
  const open = new Map<string, number>();
  const walk: [number, boolean][] = [[0, false]];
  while (walk.length) {
    const [v, leaving] = walk.pop()!;
    const c = className(v);
    if (leaving) {
      open.set(c, open.get(c)! - 1);
      continue;
    }
    let row = byClass.get(c);
    if (!row) byClass.set(c, (row = { name: c, count: 0, selfMiB: 0, retainedMiB: 0 }));
    row.count++;
    row.selfMiB += nodes[v * NF + nSelf]! / MiB;
    if (!open.get(c)) row.retainedMiB += retained[v]! / MiB;
    open.set(c, (open.get(c) ?? 0) + 1);
    walk.push([v, true]);
    for (const w of children[v]!) walk.push([w, false]);
  }

  // The largest retainers (over 256 KiB) that are not just containers of one bigger one: nodes retaining most,
  // skipping a node whose dominator retains less than 1.2 × it (that dominator is the same thing).
  const edgeName = (e: number): string => {
    const t = edgeTypes[edges[e + eType]!];
    const v = edges[e + eName]!;
    return t === 'element' || t === 'hidden' ? `[${v}]` : String(strings[v]);
  };
  const pathTo = (v: number): string[] => {
    const out: string[] = [];
    for (let x = v, guard = 0; x !== 0 && guard < 12; x = idom[x]!, guard++) {
      const d = idom[x]!;
      let label = className(x);
      for (let e = firstEdge[d]!; e < firstEdge[d + 1]!; e += EF) {
        if (target(e) === x) {
          label = `${edgeName(e)}: ${label}`;
          break;
        }
      }
      out.unshift(label);
    }
    return out;
  };
  const candidates = post
    .filter((v) => v !== 0 && retained[v]! > MiB / 4 && retained[idom[v]!]! > 1.2 * retained[v]!)
    .sort((a, b) => retained[b]! - retained[a]!)
    .slice(0, top);
  const round = (x: number): number => +x.toFixed(2);
  return {
    totalMiB: round(retained[0]! / MiB),
    nodes: post.length,
    classes: [...byClass.values()]
      .sort((a, b) => b.retainedMiB - a.retainedMiB)
      .slice(0, top)
      .map((r) => ({ ...r, selfMiB: round(r.selfMiB), retainedMiB: round(r.retainedMiB) })),
    retainers: candidates.map((v) => ({ node: className(v), retainedMiB: round(retained[v]! / MiB), path: pathTo(v) })),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: heap-summary FILE.heapsnapshot [TOP]\n');
    process.exit(2);
  }
  const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as Snapshot, Number(top ?? 25));
  process.stdout.write(`heap: ${s.totalMiB} MiB in ${s.nodes} objects\n\nby class (count, self MiB, retained MiB):\n`);
  for (const r of s.classes) process.stdout.write(`${r.retainedMiB.toFixed(2).padStart(8)} ${r.selfMiB.toFixed(2).padStart(8)} ${String(r.count).padStart(8)}  ${r.name}\n`);
  process.stdout.write('\nlargest retainers (retained MiB, path from the roots):\n');
  for (const r of s.retainers) process.stdout.write(`${r.retainedMiB.toFixed(2).padStart(8)}  ${r.path.join(' → ')}\n`);
}
