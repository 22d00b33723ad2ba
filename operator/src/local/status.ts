// `autorun status [--state-dir DIR]`: the task table from the recorded state. It reads only files a
// run replaces atomically, so it works while a run is in progress.
import { parseArgs } from 'node:util';
import { lockHolder } from './lock.js';
import { renderTable, rowOf } from './progress.js';
import { StateDir } from './state.js';

export const DEFAULT_STATE_DIR = '.autorun';

export async function main(argv: string[]): Promise<number> {
  let values: { 'state-dir'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`autorun status: ${(err as Error).message}\nusage: autorun status [--state-dir DIR]\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write('usage: autorun status [--state-dir DIR]\n\nShows the tasks of the last or running `autorun run` in DIR (default .autorun).\n');
    return 0;
  }
  const dir = new StateDir(values['state-dir'] ?? DEFAULT_STATE_DIR);
  const states = dir.loadAll();
  if (!states.length) {
    process.stderr.write(`no tasks recorded in ${dir.root}: start one with \`autorun run FILE...\`\n`);
    return 1;
  }
  const now = new Date();
  process.stdout.write(renderTable(states.map((s) => rowOf({ name: s.task.metadata.name, status: s.status, createdAt: s.createdAt }, now)), true));
  const holder = lockHolder(dir.lockFile);
  process.stdout.write(holder ? `\na run is in progress (pid ${holder.pid}, started ${holder.startedAt})\n` : '\nno run in progress\n');
  for (const s of states) {
    const r = s.status.result;
    if (s.status.phase === 'Succeeded' && r?.branch) {
      process.stdout.write(`${s.task.metadata.name}: branch ${r.branch}${r.commit ? ` at ${r.commit.slice(0, 12)}` : ''}${r.pullRequestURL ? `, pull request ${r.pullRequestURL}` : ''}\n`);
    }
    else if (s.status.phase === 'Failed' && s.status.message) process.stdout.write(`${s.task.metadata.name}: ${s.status.message}\n`);
  }
  return 0;
}
