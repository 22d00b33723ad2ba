// Where the operator's resident memory goes, for `make bench`: the kernel's view (/proc/PID/smaps,
// each mapping's Rss summed by kind) beside V8's (a Node diagnostic report, which the operator
// writes on SIGUSR2 when started with --report-on-signal: every heap space's resident size, and
// what Node allocated outside the heap). Anonymous memory that is neither V8's heap nor a thread
// stack is malloc's: Node's and V8's own C++ objects, network buffers, and the allocator's slack.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MiB = 2 ** 20;
const mib = (bytes: number): number => +(bytes / MiB).toFixed(1);

export interface SmapsBreakdown {
  rss: number;
  /** The node executable's pages (its code and read-only data: file-backed, shared, reclaimable). */
  nodeBinary: number;
  /** Other file-backed pages (libc, libstdc++, ...). */
  otherFiles: number;
  /** malloc's main arena ([heap], grown by brk). */
  brkHeap: number;
  /** Every other anonymous mapping: V8's heap pages, malloc's other arenas and its mmapped blocks, thread stacks. */
  anonymous: number;
  /** The process's threads: each has a stack among the anonymous mappings (a few pages resident of its 8 MiB). */
  threads: number;
}

/** RSS by kind of mapping, in bytes. */
export function smapsBreakdown(pid: number, exe = readExe(pid)): SmapsBreakdown {
  const out: SmapsBreakdown = { rss: 0, nodeBinary: 0, otherFiles: 0, brkHeap: 0, anonymous: 0, threads: 0 };
  let path = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      path = head[1] ?? '';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const bytes = Number(rss[1]) * 1024;
    out.rss += bytes;
    if (path === exe) out.nodeBinary += bytes;
    else if (path === '[heap]') out.brkHeap += bytes;
    else if (path.startsWith('/')) out.otherFiles += bytes;
    else out.anonymous += bytes;
  }
  out.threads = readdirSync(`/proc/${pid}/task`).length;
  return out;
}

function readExe(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!;
}

interface ReportSpace {
  memorySize: number;
  committedMemory: number;
  capacity: number;
  used: number;
}
interface DiagnosticReport {
  javascriptHeap: { totalMemory: number; totalCommittedMemory: number; usedMemory: number; mallocedMemory: number; externalMemory: number; heapSpaces: Record<string, ReportSpace> };
  resourceUsage?: { rss?: number | string; maxRss?: number | string };
  libuv?: { type: string }[];
}

/** Has the operator (started with --report-on-signal --report-directory=dir) write a diagnostic report; returns it. */
export async function diagnosticReport(pid: number, dir: string, signal: NodeJS.Signals = 'SIGUSR2'): Promise<DiagnosticReport> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, signal);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const file = readdirSync(dir).find((f) => f.startsWith('report.') && f.endsWith('.json') && !before.has(f));
    if (file) {
      const path = join(dir, file);
      try {
        if (statSync(path).size > 0) {
          const report = JSON.parse(readFileSync(path, 'utf8')) as DiagnosticReport;
          rmSync(path);
          return report;
        }
      } catch {
        // Still being written.
      }
    }
    if (Date.now() > deadline) throw new Error('the operator wrote no diagnostic report (started without --report-on-signal?)');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The figures `make bench` prints, in MiB: RSS split into the Node binary's code, V8's heap
 * (resident, and the live part of it by space), and the rest of the anonymous memory (malloc: Node's
 * and V8's C++ side, buffers, the allocator's slack; and the threads' stacks).
 */
export function memoryFigures(smaps: SmapsBreakdown, report: DiagnosticReport | undefined): Record<string, unknown> {
  const anon = smaps.anonymous + smaps.brkHeap;
  const figures: Record<string, unknown> = {
    rss: mib(smaps.rss),
    nodeBinaryFileBacked: mib(smaps.nodeBinary),
    otherFilesFileBacked: mib(smaps.otherFiles),
    anonymous: mib(anon),
    threads: smaps.threads,
  };
  if (report) {
    const h = report.javascriptHeap;
    const spaces = Object.fromEntries(
      Object.entries(h.heapSpaces)
        .filter(([, s]) => s.committedMemory > 0)
        .map(([name, s]) => [name.replace(/_space$/, ''), { resident: mib(s.committedMemory), used: mib(s.used) }]),
    );
    const v8Resident = Object.values(h.heapSpaces).reduce((n, s) => n + s.committedMemory, 0);
    figures.v8Heap = { resident: mib(v8Resident), committed: mib(h.totalCommittedMemory), used: mib(h.usedMemory), spaces };
    figures.anonymousBesidesV8Heap = mib(anon - v8Resident);
    // Of that: what V8 itself has malloc'ed, and the memory JS objects hold outside the heap (Buffers, ...).
    figures.v8Malloced = mib(h.mallocedMemory);
    figures.external = mib(h.externalMemory);
  }
  return figures;
}
