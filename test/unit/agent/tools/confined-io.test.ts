// The file tools' reads and writes check where the open file really is, so a directory swapped for a
// symlink after confine() resolved the path (by a process of the exec container sharing the
// workspace) leads nowhere: here the swap has already happened when the tool uses the path.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInside, writeInside } from '../../../../operator/src/agent/tools/confined-io.js';
import { tempDir } from '../helpers.js';

function layout(): { ws: string; outside: string } {
  const dir = tempDir();
  const ws = join(dir, 'ws');
  const outside = join(dir, 'secret-mount');
  mkdirSync(join(ws, 'src'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'api-key'), 'sk-ant-secret');
  writeFileSync(join(ws, 'src', 'm.py'), 'x = 1\n');
  // What a swap leaves: a directory of the workspace now a link to the key's directory.
  symlinkSync(outside, join(ws, 'swapped'));
  symlinkSync(join(outside, 'api-key'), join(ws, 'key-link'));
  return { ws, outside };
}

test('reads and writes inside the workspace', async () => {
  const { ws } = layout();
  expect(await readInside(ws, join(ws, 'src', 'm.py'), 'src/m.py')).toBe('x = 1\n');
  await writeInside(ws, join(ws, 'src', 'm.py'), 'src/m.py', 'y = 2\n');
  await writeInside(ws, join(ws, 'src', 'new.py'), 'src/new.py', 'z = 3\n');
  expect(readFileSync(join(ws, 'src', 'm.py'), 'utf8')).toBe('y = 2\n');
  expect(readFileSync(join(ws, 'src', 'new.py'), 'utf8')).toBe('z = 3\n');
});

test('a read through a directory that became a link out of the workspace is refused', async () => {
  const { ws } = layout();
  await expect(readInside(ws, join(ws, 'swapped', 'api-key'), 'swapped/api-key')).rejects.toThrow('swapped/api-key moved outside the workspace');
});

test('a final symlink is not followed', async () => {
  const { ws } = layout();
  await expect(readInside(ws, join(ws, 'key-link'), 'key-link')).rejects.toThrow('cannot read key-link: no such file');
  await expect(writeInside(ws, join(ws, 'key-link'), 'key-link', 'x')).rejects.toThrow('cannot write key-link: ELOOP');
});

test('a write through such a directory changes nothing outside and leaves no file there', async () => {
  const { ws, outside } = layout();
  await expect(writeInside(ws, join(ws, 'swapped', 'api-key'), 'swapped/api-key', 'overwritten')).rejects.toThrow('moved outside the workspace');
  expect(readFileSync(join(outside, 'api-key'), 'utf8')).toBe('sk-ant-secret');
  await expect(writeInside(ws, join(ws, 'swapped', 'planted'), 'swapped/planted', 'x')).rejects.toThrow('moved outside the workspace');
  expect(existsSync(join(outside, 'planted'))).toBe(false);
});
