import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDir, writeAtomic, type TaskState } from '../../../operator/src/local/state.js';
import { acquireLock, LockedError, lockHolder } from '../../../operator/src/local/lock.js';
import { spawnSync } from 'node:child_process';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'autorun-state-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function state(name: string, createdAt: string): TaskState {
  return {
    version: 1,
    task: { apiVersion: 'autorun.dev/v1alpha1', kind: 'CodingTask', metadata: { name, generation: 1 }, spec: { goal: 'g', limits: { maxIterations: 3 } } },
    pool: 'default',
    createdAt,
    status: { phase: 'Running', iteration: 1, stages: [{ name: `${name}-i1-code-a0`, iteration: 1, role: 'code', attempt: 0, state: 'Succeeded' }] },
    stages: [
      {
        name: `${name}-i1-code-a0`,
        iteration: 1,
        role: 'code',
        attempt: 0,
        state: 'Finished',
        result: { role: 'code', outcome: 'Succeeded', commit: 'abc', summary: 'wrote fizzbuzz.py', usage: { inputTokens: 10, outputTokens: 5, costUSD: 0.01 } },
        startTime: '2025-01-01T00:00:00.000Z',
        finishTime: '2025-01-01T00:01:00.000Z',
      },
      { name: `${name}-i1-test-a0`, iteration: 1, role: 'test', attempt: 0, state: 'Running', pid: 4242, startTime: '2025-01-01T00:00:00.000Z' },
    ],
    updatedAt: createdAt,
  };
}

describe('state', () => {
  test('a task named with the longest name an object may have (253 characters) is saved and found again', () => {
    const dir = new StateDir(root);
    const name = `${'a'.repeat(126)}.${'b'.repeat(126)}`;
    dir.save(state(name, '2025-01-01T00:00:00.000Z'));
    expect(dir.load(name)?.task.metadata.name).toBe(name);
    expect(dir.loadAll().map((s) => s.task.metadata.name)).toEqual([name]);
    expect(readdirSync(join(root, 'state'))[0]!.length).toBeLessThanOrEqual(255);
  });

  test('round-trips a task with its observed stages and results', () => {
    const dir = new StateDir(root);
    const s = state('fizzbuzz', '2025-01-01T00:00:00.000Z');
    dir.save(s);
    expect(dir.load('fizzbuzz')).toEqual(s);
    expect(readdirSync(join(root, 'state'))).toEqual(['fizzbuzz.json']);
  });

  test('loadAll lists tasks oldest first and skips unreadable files', () => {
    const dir = new StateDir(root);
    dir.save(state('b', '2025-01-02T00:00:00.000Z'));
    dir.save(state('a', '2025-01-03T00:00:00.000Z'));
    writeFileSync(join(root, 'state', 'broken.json'), '{"version": 1, "task"');
    writeFileSync(join(root, 'state', 'old.json'), JSON.stringify({ ...state('old', '2025-01-01T00:00:00.000Z'), version: 0 }));
    expect(dir.loadAll().map((s) => s.task.metadata.name)).toEqual(['b', 'a']);
  });

  test('writeAtomic replaces the file and leaves no temporary behind', () => {
    const file = join(root, 'x.json');
    writeAtomic(file, 'one');
    writeAtomic(file, 'two');
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(root)).toEqual(['x.json']);
  });

  test('resetStage gives a new attempt an empty directory', () => {
    const dir = new StateDir(root);
    const f = dir.resetStage('t', 't-i1-code-a0');
    writeFileSync(f.result, '{}');
    dir.resetStage('t', 't-i1-code-a0');
    expect(readdirSync(f.dir)).toEqual([]);
  });
});

describe('lock', () => {
  test('a second run is refused while the first holds the lock', () => {
    const path = join(root, 'lock');
    const release = acquireLock(path);
    expect(lockHolder(path)?.pid).toBe(process.pid);
    // Another live process holding it:
    writeFileSync(path, JSON.stringify({ pid: process.ppid, startedAt: 'then', argv: [] }));
    expect(() => acquireLock(path)).toThrow(LockedError);
    release(); // not ours any more: left alone
    expect(lockHolder(path)?.pid).toBe(process.ppid);
  });

  test('a stale lock (its process is gone) is taken over', () => {
    const path = join(root, 'lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    writeFileSync(path, JSON.stringify({ pid: dead, startedAt: 'then', argv: [] }));
    const release = acquireLock(path);
    expect(lockHolder(path)?.pid).toBe(process.pid);
    release();
    expect(lockHolder(path)).toBeUndefined();
  });
});
