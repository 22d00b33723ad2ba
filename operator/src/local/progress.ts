// Live progress of a local run: one row per task (NAME PHASE ITER TESTS COST ELAPSED), redrawn in
// place on a terminal, or printed as a plain line whenever a row changes when the output is a file
// or a pipe (CI logs, `| tee`), so a log never fills with cursor codes or identical lines.
import type { CodingTaskStatus } from '../api/types.js';

export interface Row {
  name: string;
  phase: string;
  iteration: string;
  tests: string;
  cost: string;
  elapsed: string;
  reason: string;
}

const HEADERS: Record<keyof Row, string> = {
  name: 'NAME', phase: 'PHASE', iteration: 'ITER', tests: 'TESTS', cost: 'COST', elapsed: 'ELAPSED', reason: 'REASON',
};
const LIVE_COLUMNS: (keyof Row)[] = ['name', 'phase', 'iteration', 'tests', 'cost', 'elapsed'];
const SUMMARY_COLUMNS: (keyof Row)[] = [...LIVE_COLUMNS, 'reason'];

/** 45s, 3m12s, 1h04m. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface RowInput {
  name: string;
  status: CodingTaskStatus;
  /** When the task was first seen; elapsed counts from its start when it has one. */
  createdAt: string;
}

export function rowOf(t: RowInput, now: Date): Row {
  const s = t.status;
  const tests = s.tests?.summary ?? (s.tests?.total !== undefined ? `${s.tests.passed ?? 0}/${s.tests.total}` : '-');
  const cost = s.cost?.summary ?? (s.cost?.totalUSD !== undefined ? `$${Number(s.cost.totalUSD).toFixed(2)}` : '$0.00');
  const start = Date.parse(s.startTime ?? t.createdAt);
  const end = s.completionTime ? Date.parse(s.completionTime) : now.getTime();
  return {
    name: t.name,
    phase: s.phase ?? 'Pending',
    iteration: s.iteration ? String(s.iteration) : '-',
    tests,
    cost,
    elapsed: Number.isFinite(start) ? formatElapsed(end - start) : '-',
    reason: s.reason ?? '',
  };
}

function widths(rows: Row[], cols: (keyof Row)[]): number[] {
  return cols.map((c) => Math.max(HEADERS[c].length, ...rows.map((r) => r[c].length)));
}

function line(values: string[], w: number[]): string {
  return values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(w[i]!))).join('   ').trimEnd();
}

/** An aligned table, as `kubectl get` prints it. `summary` adds the REASON column. */
export function renderTable(rows: Row[], summary = false): string {
  const cols = summary ? SUMMARY_COLUMNS : LIVE_COLUMNS;
  const w = widths(rows, cols);
  return [line(cols.map((c) => HEADERS[c]), w), ...rows.map((r) => line(cols.map((c) => r[c]), w))].join('\n') + '\n';
}

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Draws the rows; `tty` chooses in-place redraw (ANSI) or plain lines on change. */
export class Progress {
  private drawn = 0;
  private rows: Row[] = [];
  private printed = new Map<string, string>();
  private headerPrinted = false;
  readonly tty: boolean;

  constructor(private readonly out: Output, tty = Boolean(out.isTTY)) {
    this.tty = tty;
  }

  update(rows: Row[]): void {
    this.rows = rows;
    if (this.tty) return this.redraw();
    const w = widths(rows, LIVE_COLUMNS);
    for (const r of rows) {
      // Elapsed alone changing is not news in a log.
      const key = JSON.stringify([r.phase, r.iteration, r.tests, r.cost]);
      if (this.printed.get(r.name) === key) continue;
      if (!this.headerPrinted) {
        this.out.write(line(LIVE_COLUMNS.map((c) => HEADERS[c]), w) + '\n');
        this.headerPrinted = true;
      }
      this.printed.set(r.name, key);
      this.out.write(line(LIVE_COLUMNS.map((c) => r[c]), w) + '\n');
    }
  }

  /** A one-off line (an event, a warning) printed above the live table. */
  message(text: string): void {
    if (!this.tty) {
      this.out.write(text + '\n');
      return;
    }
    this.clear();
    this.out.write(text + '\n');
    this.draw();
  }

  /** Leaves the live table and prints the final summary. */
  finish(rows: Row[]): void {
    if (this.tty) this.clear();
    this.out.write('\n' + renderTable(rows, true));
  }

  private clear(): void {
    // Cursor up over the table, then erase to the end of the screen.
    if (this.drawn) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    const cols = this.out.columns ?? 0;
    const text = renderTable(this.rows)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (cols > 0 && l.length >= cols ? l.slice(0, cols - 1) : l));
    this.out.write(text.join('\n') + '\n');
    this.drawn = text.length;
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }
}
