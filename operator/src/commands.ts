// The commands of the one autorun binary (the operator, the agent program in every Pod, and the
// local tier), each loaded on demand so that a command loads only its own code. cli.ts, the entry,
// loads this module once it has checked the Node version.
import { setCliEntry } from './self.js';

const USAGE = `usage: autorun <command> [args]

commands:
  run FILE...            run CodingTasks on this machine, agents as local processes
  status                 show the tasks of the last or running local run
  report TASK            write an HTML page about a task (cluster, or --state-dir of a local run)
  agent --role ROLE      the agent program (code, test, run, repair) inside a Pod or process
  exec-server --socket P the exec container of an LLM Pod: runs the model's commands sent to P
  operator               the Kubernetes operator
  model pull|path|list   fetch the local provider's model into the cache (no key needed)
`;

type Main = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<{ main: Main }>> = {
  run: () => import('./local/run.js'),
  status: () => import('./local/status.js'),
  report: () => import('./report/html/main.js'),
  agent: () => import('./agent/main.js'),
  'exec-server': () => import('./agent/exec-container/server.js'),
  operator: () => import('./controller/main.js'),
  model: () => import('./model-cli.js'),
};

/** Runs the command argv names; entry is the file autorun was started from (see self.ts). */
export async function runCli(argv: string[], entry: string): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || !commands[cmd]) {
    process.stderr.write(USAGE);
    return cmd && cmd !== '-h' && cmd !== '--help' ? 2 : 0;
  }
  setCliEntry(entry);
  const mod = await commands[cmd]!();
  return mod.main(rest);
}
