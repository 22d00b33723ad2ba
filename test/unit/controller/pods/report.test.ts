import {
  REPORT_KEY,
  REPORT_MAX_BYTES,
  TRIMMED_FIELD,
  buildReportConfigMap,
  reportConfigMapName,
  trimReport,
} from '../../../../operator/src/controller/pods/report.js';
import { task } from './fixtures.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function report(failures: number, traceBytes: number): string {
  return JSON.stringify({
    command: 'pytest -q',
    passed: 3,
    failed: failures,
    failures: Array.from({ length: failures }, (_, i) => ({ name: `tests/test_mod.py::test_${i}`, message: `assert ${i} == ${i + 1}`, trace: `Traceback ${i}\n` + 'x'.repeat(traceBytes) })),
  });
}

describe('reportConfigMapName', () => {
  it('is deterministic per task and iteration and a valid name', () => {
    expect(reportConfigMapName('fizzbuzz', 3)).toBe('fizzbuzz-i3-report');
    expect(reportConfigMapName('a'.repeat(40), 20)).toBe(`${'a'.repeat(40)}-i20-report`);
    // Longer names are shortened with a hash, like the stage names, and stay distinct.
    const long = reportConfigMapName(`${'a'.repeat(60)}-1`, 20);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^a{29}-[0-9a-f]{10}-i20-report$/);
    expect(reportConfigMapName(`${'a'.repeat(60)}-2`, 20)).not.toBe(long);
  });
});

describe('buildReportConfigMap', () => {
  it('owned by the task, labelled, immutable, the report under its key', () => {
    const text = report(2, 100);
    const cm = buildReportConfigMap(task(), 2, text);
    expect(cm.metadata).toMatchObject({
      name: 'fizzbuzz-i2-report',
      namespace: 'team-a',
      labels: { 'autorun.dev/task': 'fizzbuzz', 'autorun.dev/iteration': '2', 'app.kubernetes.io/managed-by': 'autorun' },
      annotations: { 'autorun.dev/report-bytes': String(bytes(text)) },
      ownerReferences: [{ apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', name: 'fizzbuzz', uid: '6f1c2d3e-0000-4000-8000-000000000001', controller: true, blockOwnerDeletion: true }],
    });
    expect(cm.metadata!.annotations!['autorun.dev/report-trimmed']).toBeUndefined();
    expect(cm.immutable).toBe(true);
    expect(cm.data).toEqual({ [REPORT_KEY]: text });
  });

  it('marks a trimmed report', () => {
    const cm = buildReportConfigMap(task(), 1, report(10, 100_000));
    expect(cm.metadata!.annotations!['autorun.dev/report-trimmed']).toBe('true');
    expect(bytes(cm.data![REPORT_KEY]!)).toBeLessThanOrEqual(REPORT_MAX_BYTES);
  });
});

describe('trimReport', () => {
  it('leaves a report that fits alone', () => {
    const text = report(3, 10);
    expect(trimReport(text)).toEqual({ text, trimmed: false, originalBytes: bytes(text) });
  });

  it('keeps a JSON report valid JSON: long traces cut, every failure kept', () => {
    const text = report(20, 200_000);
    const out = trimReport(text);
    expect(out.trimmed).toBe(true);
    expect(bytes(out.text)).toBeLessThanOrEqual(REPORT_MAX_BYTES);
    const v = JSON.parse(out.text);
    expect(v.failures).toHaveLength(20);
    expect(v.failures[19].name).toBe('tests/test_mod.py::test_19');
    expect(v.failures[0].trace).toMatch(/^Traceback 0\nx+…\[autorun: \d+ bytes trimmed\]$/);
    expect(v[TRIMMED_FIELD]).toMatch(/trimmed from \d+ bytes/);
    // It uses the room it has rather than cutting everything to the minimum.
    expect(bytes(out.text)).toBeGreaterThan(REPORT_MAX_BYTES * 0.9);
  });

  it('drops array tails when the number of failures alone is too large', () => {
    const text = report(20_000, 40);
    const out = trimReport(text, 64 * 1024);
    const v = JSON.parse(out.text);
    expect(bytes(out.text)).toBeLessThanOrEqual(64 * 1024);
    expect(v.failures.length).toBeGreaterThan(100);
    expect(v.failures.length).toBeLessThan(20_000);
    expect(v.failures[0].name).toBe('tests/test_mod.py::test_0');
  });

  it('cuts plain text in the middle, keeping the head and tail and saying how much went', () => {
    const text = 'FIRST FAILURE\n' + 'é'.repeat(300_000) + '\n== 10 failed, 3 passed ==';
    const out = trimReport(text, 10_000);
    expect(bytes(out.text)).toBeLessThanOrEqual(10_000);
    expect(out.text.startsWith('FIRST FAILURE\n')).toBe(true);
    expect(out.text.endsWith('== 10 failed, 3 passed ==')).toBe(true);
    const m = /…\[autorun: (\d+) bytes trimmed\]…/.exec(out.text)!;
    expect(Number(m[1])).toBe(bytes(text) - bytes(out.text) + bytes(`\n${m[0]}\n`));
    // No broken UTF-8: every é survived whole.
    expect(out.text).not.toContain('\uFFFD');
  });
});
