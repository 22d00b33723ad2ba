// `autorun run FILE... [--state-dir DIR] [--agent-command CMD]`: the whole factory on one machine.
// Loads and validates the manifests as the apiserver would, refuses early (exit 2) when something is
// missing, then runs every task with the loop core and agents as local processes, resuming from the
// recorded state when the same command runs again. Exit status: 0 all tasks succeeded, 1 a task
// failed, 2 nothing was started (bad input, no credentials, dir in use), 130 interrupted.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEntry } from '../self.js';
import { parseArgs } from 'node:util';
import { secretValues } from '../util/secrets.js';
import { loadManifests, ManifestError, type ConfigMap, type Loaded } from '../api/manifests.js';
import type { AgentPool, CodingTask } from '../api/types.js';
import { LOCAL_GPU_ENV } from '../agent/engines/local-settings.js';
import { isModelPath } from '../agent/local-model/catalog.js';
import { ensureModel, ModelError } from '../agent/local-model/store.js';
import { detectGpus, GpuAllocator } from './gpus.js';
import { acquireLock, LockedError } from './lock.js';
import { missingCredentials, resolvePools } from './pools.js';
import { PR_TOKEN_ENV, PR_TOKEN_FALLBACKS } from '../api/credential-env.js';
import { Progress } from './progress.js';
import { checkLocalRemote, ensureFreshRepository, resolveRepositoryUrl } from './repo.js';
import { Runner, type LocalTask } from './runner.js';
import { LocalSlack } from './slack.js';
import { STATE_VERSION, StateDir, withPeople, type TaskState } from './state.js';
import { DEFAULT_STATE_DIR } from './status.js';
import { isTerminal } from '../core/loop.js';
import { isInteractive, slackConfigFromEnv } from '../report/slack/app.js';
import { parsePullRequestSettings } from '../report/slack/new-task.js';

const USAGE = `usage: autorun run FILE... [--state-dir DIR] [--agent-command CMD] [--watch]

Runs the CodingTasks in FILE... on this machine: the same loop as the operator, with the agents as
local processes. AgentPools and ConfigMaps (acceptance tests) in the files are used too; a task
without a pool gets a built-in default pool (model from AUTORUN_MODEL).

  --state-dir DIR       where state, repositories and transcripts go (default .autorun)
  --agent-command CMD   the agent program (default: this autorun's \`agent\`); "--role R" is appended
  --watch               keep running after every task ended, taking Slack's controls (Retry,
                        /autorun new) until Ctrl-C; FILE... may then be left out

Running the same command again resumes every task where it stopped. \`autorun status\` shows the table.
`;

/** The agent program of this installation: this same autorun's `agent` command. */
export function defaultAgentCommand(): string[] {
  return [process.execPath, cliEntry() ?? fileURLToPath(new URL('../cli.js', import.meta.url)), 'agent'];
}

/** Splits a command line on spaces, honouring single and double quotes. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return out;
}

function fail(message: string): number {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'state-dir': { type: 'string' }, 'agent-command': { type: 'string' }, watch: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    return fail(`autorun run: ${(err as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const files = parsed.positionals;
  const watch = parsed.values.watch === true;
  const slackCfg = slackConfigFromEnv(process.env);
  if (watch && !(slackCfg && isInteractive(slackCfg))) {
    return fail('autorun run --watch: takes its tasks and retries from Slack, so it needs SLACK_BOT_TOKEN, SLACK_CHANNEL and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)');
  }
  if (!files.length && !watch) return fail(`autorun run: name at least one manifest file\n\n${USAGE}`);

  let manifests;
  try {
    manifests = loadManifests(files);
  } catch (err) {
    if (err instanceof ManifestError) return fail(`${err.problems.join('\n')}\nNothing was started.`);
    throw err;
  }
  if (!manifests.tasks.length && !watch) return fail(`autorun run: no CodingTask in ${files.join(', ')}`);

  const tasks = manifests.tasks.map((t) => t.object);
  const { byTask, problems } = resolvePools(tasks, manifests.pools.map((p) => p.object));
  problems.push(...acceptanceProblems(manifests.tasks, manifests.configMaps));
  const urls = new Map<string, string>();
  for (const { object: t, source } of manifests.tasks) {
    if (!t.spec.repository) continue;
    const url = resolveRepositoryUrl(t.spec.repository.url, source.file);
    const bad = checkLocalRemote(url);
    if (bad) problems.push(`${source.file}: document ${source.document} (CodingTask ${t.metadata.name}): spec.repository.url: ${bad}`);
    const pr = t.spec.repository.pullRequest;
    const tokenVars = pr ? [PR_TOKEN_ENV, ...PR_TOKEN_FALLBACKS[pr.provider]] : [];
    if (pr && !tokenVars.some((v) => process.env[v])) {
      problems.push(`${source.file}: document ${source.document} (CodingTask ${t.metadata.name}): spec.repository.pullRequest: no ${pr.provider} token: set ${tokenVars.join(' or ')}`);
    }
    urls.set(t.metadata.name, url);
  }
  if (problems.length) return fail(`${problems.join('\n')}\nNothing was started.`);
  const noKey = missingCredentials(new Set(byTask.values()));
  if (noKey) return fail(noKey);
  const noModel = await prepareLocalModels(new Set(byTask.values()));
  if (noModel) return fail(noModel);

  const dir = new StateDir(resolve(parsed.values['state-dir'] ?? DEFAULT_STATE_DIR));
  let release: () => void;
  try {
    release = acquireLock(dir.lockFile);
  } catch (err) {
    if (err instanceof LockedError) return fail(`autorun run: ${err.message}`);
    throw err;
  }
  const progress = new Progress(process.stdout);
  let runner: Runner | undefined;
  const onSignal = (signal: NodeJS.Signals) => () => {
    progress.message(`${signal}: stopping the agents and saving the state (again to kill them at once)`);
    interruptedBy = signal;
    runner?.interrupt();
  };
  let interruptedBy: NodeJS.Signals | undefined;
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const local: LocalTask[] = [];
    manifests.tasks.forEach(({ object: task, source }, order) => {
      const name = task.metadata.name;
      const state = loadOrCreate(dir, task, byTask.get(name)!.metadata.name, source.file, progress);
      let repositoryUrl = urls.get(name);
      if (!repositoryUrl) {
        repositoryUrl = dir.repoDir(name);
        ensureFreshRepository(repositoryUrl, name, task.spec.goal, task.spec.repository?.baseRef ?? 'main');
      }
      const acceptanceDir = writeAcceptance(dir, task, manifests.configMaps);
      local.push({ state, pool: byTask.get(name)!, repositoryUrl, ...(acceptanceDir ? { acceptanceDir } : {}), order });
    });
    resumeSlackTasks(dir, local, manifests.pools.map((p) => p.object), progress);
    const devices = detectGpus();
    const gpus = new GpuAllocator(devices);
    progress.message(
      `autorun: ${local.length} task(s); state in ${dir.root}${devices.length ? `; GPUs ${devices.join(',')}` : ''}. ` +
        'Run the same command again to resume; `autorun status` shows the table.',
    );
    const slack = LocalSlack.fromEnv(process.env, local, dir, secretValues(process.env), (line) => progress.message(line));
    if (slack) progress.message(`autorun: reporting to Slack channel ${process.env.SLACK_CHANNEL}`);
    let pullRequest;
    try {
      pullRequest = parsePullRequestSettings(process.env.SLACK_PULL_REQUEST);
    } catch (err) {
      return fail(`autorun run: ${(err as Error).message}`);
    }
    const factory = { pools: manifests.pools.map((p) => p.object), dir, cwd: process.cwd(), env: process.env, ...(pullRequest ? { pullRequest } : {}) };
    const controls = slack ? await slack.startControls(() => runner?.poke(), factory) : false;
    if (controls) progress.message('autorun: taking Slack controls (buttons, thread replies, /autorun); a task that needs input waits for a person');
    runner = new Runner({
      waitForPeople: controls,
      keepRunning: watch,
      dir,
      tasks: local,
      agentCommand: parsed.values['agent-command'] ? splitCommand(parsed.values['agent-command']) : defaultAgentCommand(),
      gpus,
      progress,
      ...(slack ? { onReport: (t: LocalTask, events: Parameters<LocalSlack['report']>[1]) => slack.report(t, events) } : {}),
    });
    if (interruptedBy) runner.interrupt();
    const { interrupted } = await runner.run();
    if (slack && !(await slack.flush())) progress.message('slack: gave up waiting for the last Slack updates');
    await slack?.stopControls();
    progress.finish(runner.rows());
    for (const t of local) process.stdout.write(outcomeLine(t, dir));
    const allEnded = local.every((t) => isTerminal(t.state.status));
    if (interrupted && !(watch && allEnded)) {
      process.stdout.write(`interrupted: state saved in ${dir.root}; run the same command to resume\n`);
      return interruptedBy === 'SIGTERM' ? 143 : 130;
    }
    return local.every((t) => t.state.status.phase === 'Succeeded') ? 0 : 1;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    release();
  }
}

/**
 * Tasks created by `/autorun new` in an earlier run have no manifest: they are resumed from their
 * state (their pool by name from the given files, or the built-in default), unless already ended.
 */
function resumeSlackTasks(dir: StateDir, local: LocalTask[], pools: AgentPool[], progress: Progress): void {
  for (const state of dir.loadAll()) {
    const name = state.task.metadata.name;
    if (!state.fromSlack || isTerminal(state.status) || local.some((t) => t.state.task.metadata.name === name)) continue;
    const { byTask, problems } = resolvePools([state.task], pools);
    const pool = byTask.get(name);
    if (!pool) {
      progress.message(`${name} (from Slack): not resumed: ${problems.join('; ')}`);
      continue;
    }
    progress.message(`${name} (from Slack): resuming (${state.status.phase ?? 'Pending'})`);
    local.push({ state, pool, repositoryUrl: state.fromSlack.repositoryUrl, order: local.length });
  }
}

/**
 * Says which pools run the local engine, and fetches their models now (once, into the model cache)
 * rather than in every parallel stage. A relative .gguf path is made absolute here, where it was written.
 */
async function prepareLocalModels(pools: Set<AgentPool>): Promise<string | undefined> {
  for (const p of pools) {
    const model = p.spec.model;
    if (model?.provider !== 'local' || !model.name) continue;
    const why = p.metadata.name === 'default' && !process.env.AUTORUN_MODEL_PROVIDER ? ' (no Anthropic key is set; export ANTHROPIC_API_KEY to use Claude instead)' : '';
    const where = process.env[LOCAL_GPU_ENV] ? `GPU (${process.env[LOCAL_GPU_ENV]})` : 'CPU';
    process.stdout.write(`autorun: pool ${p.metadata.name} uses the local engine: model ${model.name}, run in-process on this machine's ${where}, no server and no key${why}\n`);
    try {
      const path = await ensureModel(model.name, { log: (line) => process.stdout.write(`autorun: ${line}\n`) });
      if (isModelPath(model.name)) model.name = path;
    } catch (err) {
      if (err instanceof ModelError) return `autorun run: pool ${p.metadata.name}: spec.model.name: ${err.message}\nNothing was started.`;
      throw err;
    }
  }
  return undefined;
}

/** The recorded state of a task, or a new one. A changed spec counts as a new generation. */
function loadOrCreate(dir: StateDir, task: CodingTask, pool: string, source: string, progress: Progress): TaskState {
  const name = task.metadata.name;
  const now = new Date().toISOString();
  const prev = dir.load(name);
  if (!prev) {
    const state: TaskState = {
      version: STATE_VERSION,
      task: { ...task, metadata: { ...task.metadata, generation: 1, creationTimestamp: now } },
      pool,
      source,
      createdAt: now,
      status: {},
      stages: [],
      updatedAt: now,
    };
    dir.save(state);
    return state;
  }
  const generation = prev.task.metadata.generation ?? 1;
  task = { ...task, spec: withPeople(task.spec, prev.people) };
  const changed = JSON.stringify(prev.task.spec) !== JSON.stringify(task.spec);
  if (changed) progress.message(`${name}: the spec changed since the last run (generation ${generation + 1})`);
  else progress.message(`${name}: resuming (${prev.status.phase ?? 'Pending'}, ${prev.stages.filter((s) => s.state === 'Finished').length} stage(s) finished)`);
  return {
    ...prev,
    task: { ...task, metadata: { ...task.metadata, generation: changed ? generation + 1 : generation, creationTimestamp: prev.createdAt } },
    pool,
    source,
  };
}

function acceptanceProblems(tasks: Loaded<CodingTask>[], configMaps: Loaded<ConfigMap>[]): string[] {
  const names = new Set(configMaps.map((c) => c.object.metadata.name));
  return tasks.flatMap(({ object: t, source }) => {
    const ref = t.spec.test?.acceptance?.configMapRef.name;
    if (!ref || names.has(ref)) return [];
    return [`${source.file}: document ${source.document} (CodingTask ${t.metadata.name}): spec.test.acceptance.configMapRef.name: ConfigMap ${JSON.stringify(ref)} is not in the given files (the local tier reads acceptance tests from a ConfigMap manifest passed alongside)`];
  });
}

/** Writes the hidden acceptance tests where only the acceptance stage is told to look. */
function writeAcceptance(dir: StateDir, task: CodingTask, configMaps: Loaded<ConfigMap>[]): string | undefined {
  const ref = task.spec.test?.acceptance?.configMapRef.name;
  if (!ref) return undefined;
  const cm = configMaps.find((c) => c.object.metadata.name === ref)!.object;
  const out = dir.acceptanceDir(task.metadata.name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const [file, content] of Object.entries(cm.data)) writeFileSync(join(out, file), content);
  return out;
}

function outcomeLine(t: LocalTask, dir: StateDir): string {
  const name = t.state.task.metadata.name;
  const s = t.state.status;
  if (s.phase === 'Succeeded') {
    const rel = relative(process.cwd(), t.repositoryUrl);
    const where = existsSync(t.repositoryUrl) ? ` in ${rel && !rel.startsWith('..') ? rel : t.repositoryUrl}` : '';
    return `${name}: ${s.message ?? 'succeeded'}; branch ${s.result?.branch ?? `autorun/${name}`}${s.result?.commit ? ` at ${s.result.commit.slice(0, 12)}` : ''}${where}\n`;
  }
  if (s.phase === 'NeedsInput') {
    return `${name}: needs input (${s.reason ?? 'NeedsInput'}): ${s.message ?? ''}. To carry on, add to its manifest spec.escalation.grants (for example [{iterations: 2}]) and, if you like, spec.guidance (your hint), then run the same command again; it resumes where it stopped\n`;
  }
  if (s.phase === 'Failed') return `${name}: failed (${s.reason ?? 'Failed'}): ${s.message ?? ''}; transcripts in ${join(dir.taskDir(name), 'stages')}\n`;
  return `${name}: ${s.phase ?? 'Pending'}${s.message ? `: ${s.message}` : ''}\n`;
}
