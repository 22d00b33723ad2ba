import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slotCount, takeSlot } from '../../../../operator/src/agent/local-model/slots.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'autorun-slots-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ AUTORUN_LOCAL_SLOTS_DIR: dir, ...extra });

test('with one slot the second stage waits until the first releases it, and hears who holds it', async () => {
  const first = await takeSlot(env(), 'fizzbuzz code', () => {});
  expect(JSON.parse(readFileSync(join(dir, 'slot-0'), 'utf8'))).toMatchObject({ pid: process.pid, what: 'fizzbuzz code' });
  const heard: number[][] = [];
  let second: (() => void) | undefined;
  const waiting = takeSlot(env(), 'fizzbuzz test', (h) => heard.push(h)).then((r) => (second = r));
  await new Promise((r) => setTimeout(r, 1500));
  expect(second).toBeUndefined();
  expect(heard).toEqual([[process.pid]]);
  first();
  await waiting;
  expect(second).toBeDefined();
  second!();
  expect(existsSync(join(dir, 'slot-0'))).toBe(false);
});

test("a slot whose process is gone is free (a stage killed while it held the model)", async () => {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(dir, 'slot-0'), JSON.stringify({ pid: Number(gone.stdout), what: 'killed' }));
  const release = await takeSlot(env(), 'next', () => {});
  expect(JSON.parse(readFileSync(join(dir, 'slot-0'), 'utf8')).pid).toBe(process.pid);
  release();
});

test('two slots hold two stages at once; 0 means no limit', async () => {
  const a = await takeSlot(env({ AUTORUN_LOCAL_SLOTS: '2' }), 'a', () => {});
  const b = await takeSlot(env({ AUTORUN_LOCAL_SLOTS: '2' }), 'b', () => {});
  expect(existsSync(join(dir, 'slot-1'))).toBe(true);
  a();
  b();
  const free = await takeSlot(env({ AUTORUN_LOCAL_SLOTS: '0' }), 'c', () => {});
  expect(existsSync(join(dir, 'slot-0'))).toBe(false);
  free();
});

test('a bad slot count names the variable', () => {
  expect(slotCount({})).toBe(1);
  expect(() => slotCount({ AUTORUN_LOCAL_SLOTS: 'two' })).toThrow('AUTORUN_LOCAL_SLOTS="two": expected a whole number of model contexts (0 for no limit)');
});
