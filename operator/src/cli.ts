#!/usr/bin/env node
// The one autorun binary: the operator, the agent program in every Pod, and the local tier.
import { fileURLToPath } from 'node:url';
import { setCliEntry } from './self.js';

const USAGE = `usage: autorun <command> [args]

commands:
  run FILE...            run CodingTasks on this machine, agents as local processes
  status                 show the tasks of the last or running local run
  agent --role ROLE      the agent program (code, test, run, repair) inside a Pod or process
  operator               the Kubernetes operator
  model pull|path|list   fetch the local provider's model into the cache (no key needed)
`;

type Main = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<{ main: Main }>> = {
  run: () => import('./local/run.js'),
  status: () => import('./local/status.js'),
  agent: () => import('./agent/main.js'),
  operator: () => import('./controller/main.js'),
  model: () => import('./model-cli.js'),
};

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '-h' || cmd === '--help' || !commands[cmd]) {
  process.stderr.write(USAGE);
  process.exit(cmd && cmd !== '-h' && cmd !== '--help' ? 2 : 0);
}
setCliEntry(fileURLToPath(import.meta.url));
const mod = await commands[cmd]!();
process.exitCode = await mod.main(rest);
