import { formatElapsed, Progress, renderTable, rowOf } from '../../../operator/src/local/progress.js';

const now = new Date('2025-01-01T00:10:00Z');

function sink(tty: boolean) {
  const chunks: string[] = [];
  return { out: { write: (s: string) => chunks.push(s), isTTY: tty, columns: 120 }, text: () => chunks.join('') };
}

describe('progress', () => {
  test('formatElapsed', () => {
    expect(formatElapsed(45_000)).toBe('45s');
    expect(formatElapsed(192_000)).toBe('3m12s');
    expect(formatElapsed(3_840_000)).toBe('1h04m');
    expect(formatElapsed(-5)).toBe('0s');
  });

  test('rowOf reads the status the loop core writes', () => {
    const row = rowOf(
      {
        name: 'fizzbuzz',
        createdAt: '2025-01-01T00:00:00Z',
        status: { phase: 'Repairing', iteration: 2, tests: { passed: 9, total: 10, summary: '9/10' }, cost: { summary: '$0.41' }, startTime: '2025-01-01T00:07:00Z' },
      },
      now,
    );
    expect(row).toEqual({ name: 'fizzbuzz', phase: 'Repairing', iteration: '2', tests: '9/10', cost: '$0.41', elapsed: '3m00s', reason: '' });
    expect(rowOf({ name: 'new', createdAt: '2025-01-01T00:09:30Z', status: {} }, now)).toMatchObject({ phase: 'Pending', iteration: '-', tests: '-', cost: '$0.00', elapsed: '30s' });
    // A finished task's clock stops at its completion.
    expect(rowOf({ name: 'done', createdAt: '2025-01-01T00:00:00Z', status: { phase: 'Failed', reason: 'MaxIterations', completionTime: '2025-01-01T00:01:05Z' } }, now)).toMatchObject({
      elapsed: '1m05s',
      reason: 'MaxIterations',
    });
  });

  test('renderTable aligns columns like kubectl get', () => {
    const rows = [
      { name: 'fizzbuzz', phase: 'Repairing', iteration: '2', tests: '9/10', cost: '$0.41', elapsed: '3m00s', reason: '' },
      { name: 'a', phase: 'Succeeded', iteration: '1', tests: '10/10', cost: '$0.10', elapsed: '59s', reason: 'TestsPassed' },
    ];
    expect(renderTable(rows)).toBe(
      [
        'NAME       PHASE       ITER   TESTS   COST    ELAPSED',
        'fizzbuzz   Repairing   2      9/10    $0.41   3m00s',
        'a          Succeeded   1      10/10   $0.10   59s',
        '',
      ].join('\n'),
    );
    expect(renderTable(rows, true).split('\n')[0]).toBe('NAME       PHASE       ITER   TESTS   COST    ELAPSED   REASON');
  });

  test('not a TTY: a plain line per change, none for elapsed time alone, no escape codes', () => {
    const s = sink(false);
    const p = new Progress(s.out);
    const row = { name: 'fizzbuzz', phase: 'Coding', iteration: '1', tests: '-', cost: '$0.00', elapsed: '1s', reason: '' };
    p.update([row]);
    p.update([{ ...row, elapsed: '2s' }]);
    p.message('fizzbuzz: fizzbuzz-i1-code-a0 started');
    p.update([{ ...row, phase: 'Running', elapsed: '9s' }]);
    p.finish([{ ...row, phase: 'Succeeded', reason: 'TestsPassed' }]);
    const text = s.text();
    expect(text).not.toContain('\x1b');
    expect(text.split('\n')).toEqual([
      'NAME       PHASE    ITER   TESTS   COST    ELAPSED',
      'fizzbuzz   Coding   1      -       $0.00   1s',
      'fizzbuzz: fizzbuzz-i1-code-a0 started',
      'fizzbuzz   Running   1      -       $0.00   9s',
      '',
      'NAME       PHASE       ITER   TESTS   COST    ELAPSED   REASON',
      'fizzbuzz   Succeeded   1      -       $0.00   1s        TestsPassed',
      '',
    ]);
  });

  test('TTY: redraws in place, messages go above the table', () => {
    const s = sink(true);
    const p = new Progress(s.out);
    const row = { name: 'fizzbuzz', phase: 'Coding', iteration: '1', tests: '-', cost: '$0.00', elapsed: '1s', reason: '' };
    p.update([row]);
    p.update([{ ...row, elapsed: '2s' }]);
    p.message('hello');
    const text = s.text();
    // Two table lines drawn, then erased (cursor up 2, clear to end) before each redraw.
    expect(text.split('\x1b[2F\x1b[J')).toHaveLength(3);
    expect(text.endsWith('hello\nNAME       PHASE    ITER   TESTS   COST    ELAPSED\nfizzbuzz   Coding   1      -       $0.00   2s\n')).toBe(true);
  });
});
