#!/usr/bin/env node
// The one autorun binary: the operator, the agent program in every Pod, and the local tier.
import { fileURLToPath } from 'node:url';
import { setCliEntry } from './self.js';

const USAGE = `usage: autorun <command> [args]

commands:
  run FILE...            run CodingTasks on this machine, agents as local processes
  status                 show the tasks of the last or running local run
  report TASK            write an HTML page about a task (cluster, or --state-dir of a local run)
  agent --role ROLE      the agent program (code, test, run, repair) inside a Pod or process
  operator               the Kubernetes operator
`;

type Main = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<{ main: Main }>> = {
  run: () => import('./local/run.js'),
  status: () => import('./local/status.js'),
  report: () => import('./report/html/main.js'),
  agent: () => import('./agent/main.js'),
  operator: () => import('./controller/main.js'),
};

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '-h' || cmd === '--help' || !commands[cmd]) {
  process.stderr.write(USAGE);
  process.exit(cmd && cmd !== '-h' && cmd !== '--help' ? 2 : 0);
}
setCliEntry(fileURLToPath(import.meta.url));
const mod = await commands[cmd]!();
process.exitCode = await mod.main(rest);
