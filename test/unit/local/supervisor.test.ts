// The local stage supervisor with real processes: a stage past its timeout is ended and says so,
// stop() ends one gracefully, stopAll() waits for every exit to be told.
import type { LocalStage } from '../../../operator/src/local/state.js';
import { spawnStage } from '../../../operator/src/local/stage-process.js';
import { StageSupervisor, type Ended } from '../../../operator/src/local/supervisor.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'autorun-supervisor-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const stage = (name: string): LocalStage => ({ name, role: 'run', iteration: 1, attempt: 0, state: 'Running', startTime: new Date().toISOString() });
const sleeper = () => spawnStage([process.execPath, '-e', 'setTimeout(() => {}, 60_000)'], { cwd: dir, env: process.env, transcript: join(dir, 't.log') });

function supervisor() {
  const ended = new Map<string, Ended>();
  let told: (k: string) => void = () => undefined;
  const s = new StageSupervisor((key, _stage, e) => {
    ended.set(key, e);
    told(key);
  });
  const next = () => new Promise<string>((r) => (told = r));
  return { s, ended, next };
}

test('a stage past its timeout is ended, marked timed out, and no longer live', async () => {
  const { s, ended, next } = supervisor();
  const told = next();
  s.watch('t/a', stage('a'), sleeper(), 200);
  expect(s.has('t/a')).toBe(true);
  expect(await told).toBe('t/a');
  expect(ended.get('t/a')).toMatchObject({ timedOut: true, exit: { signal: 'SIGTERM' } });
  expect(s.size).toBe(0);
});

test('stop() ends a stage with SIGTERM, not as a timeout', async () => {
  const { s, ended, next } = supervisor();
  const told = next();
  s.watch('t/b', stage('b'), sleeper(), 60_000);
  s.stop('t/b');
  await told;
  expect(ended.get('t/b')).toMatchObject({ timedOut: false, exit: { signal: 'SIGTERM' } });
});

test('stopAll() returns once every stage has exited and been told', async () => {
  const { s, ended } = supervisor();
  s.watch('t/c', stage('c'), sleeper(), 60_000);
  s.watch('t/d', stage('d'), sleeper(), 60_000);
  expect(s.stages().map((x) => x.name).sort()).toEqual(['c', 'd']);
  await s.stopAll();
  expect([...ended.keys()].sort()).toEqual(['t/c', 't/d']);
  expect(s.size).toBe(0);
});
