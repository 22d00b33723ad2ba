// The local tier's record of each task, so a run can be resumed and `autorun status` can show it.
// Layout under the state dir (default .autorun):
//   lock                      pid of the run using this dir
//   state/<task>.json         the task as loaded, its status and every stage observed (with results)
//   <task>/repo               the task's bare git remote when the manifest names no repository
//   <task>/stages/<stage>/    per stage: workspace/, result.json (the termination message),
//                             transcript.log (stdout and stderr), failure-report.json (run stages)
// Files are replaced atomically (write a temporary file, fsync, rename), so a crash or SIGKILL leaves
// either the previous record or the new one, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CodingTask, CodingTaskStatus } from '../api/types.js';
import { shortName } from '../core/names.js';
import type { ObservedStage } from '../core/types.js';

export const STATE_VERSION = 1;

/** What the local tier knows of a stage beyond ObservedStage: the process and its GPUs. */
export interface LocalStage extends ObservedStage {
  pid?: number;
  /** GPU indexes given to the stage through CUDA_VISIBLE_DEVICES. */
  devices?: string[];
  exitCode?: number | null;
  signal?: string | null;
}

export interface TaskState {
  version: typeof STATE_VERSION;
  /** The task as loaded from its manifest, defaults applied; generation counts spec changes. */
  task: CodingTask;
  /** The pool the task runs in (the manifest's, or the built-in default). */
  pool: string;
  /** Where the manifest came from, for `autorun status`. */
  source?: string;
  createdAt: string;
  status: CodingTaskStatus;
  stages: LocalStage[];
  updatedAt: string;
  /** The task's Slack thread (its first message), so a resumed run posts to the same thread. */
  slack?: { channel: string; ts: string };
  /**
   * What people changed from Slack (the local tier's patch of the task): applied over the
   * manifest's spec on every load, so a resumed run keeps it.
   */
  people?: PeopleSpec;
  /** How many times Slack's Retry started this task again (the earlier runs' stages are in <task>/retries/<n>/). */
  retries?: number;
  /** A task created by `/autorun new` (no manifest): its remote, so a later run resumes it too. */
  fromSlack?: { repositoryUrl: string };
}

export interface PeopleSpec {
  suspend?: boolean;
  stop?: boolean;
  guidance?: string[];
  grants?: { iterations: number; by?: string }[];
}

/** The manifest's spec with what people changed from Slack on top. */
export function withPeople(spec: CodingTask['spec'], people: PeopleSpec | undefined): CodingTask['spec'] {
  if (!people) return spec;
  const { grants, guidance, ...rest } = people;
  const out: Record<string, unknown> = { ...spec, ...rest };
  if (guidance?.length) out.guidance = [...(spec.guidance ?? []), ...guidance];
  if (grants?.length) out.escalation = { ...spec.escalation, grants: [...(spec.escalation?.grants ?? []), ...grants] };
  return out as unknown as CodingTask['spec'];
}

export interface StageFiles {
  dir: string;
  workspace: string;
  result: string;
  transcript: string;
  report: string;
}

export class StateDir {
  constructor(readonly root: string) {}

  get stateDir(): string {
    return join(this.root, 'state');
  }

  get lockFile(): string {
    return join(this.root, 'lock');
  }

  taskDir(task: string): string {
    return join(this.root, task);
  }

  repoDir(task: string): string {
    return join(this.taskDir(task), 'repo');
  }

  acceptanceDir(task: string): string {
    return join(this.taskDir(task), 'acceptance');
  }

  stageFiles(task: string, stage: string): StageFiles {
    const dir = join(this.taskDir(task), 'stages', stage);
    return {
      dir,
      workspace: join(dir, 'workspace'),
      result: join(dir, 'result.json'),
      transcript: join(dir, 'transcript.log'),
      report: join(dir, 'failure-report.json'),
    };
  }

  statePath(task: string): string {
    // A file name has at most 255 bytes and a task name up to 253 characters: room for ".json" and
    // writeAtomic's ".<pid>.<n>.tmp".
    return join(this.stateDir, `${shortName(task, 200)}.json`);
  }

  save(state: TaskState): void {
    mkdirSync(this.stateDir, { recursive: true });
    writeAtomic(this.statePath(state.task.metadata.name), JSON.stringify(state, null, 2) + '\n');
  }

  load(task: string): TaskState | undefined {
    return readState(this.statePath(task));
  }

  /** Every recorded task, oldest first. Unreadable files are skipped, not fatal. */
  loadAll(): TaskState[] {
    let names: string[];
    try {
      names = readdirSync(this.stateDir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
    return names
      .map((f) => readState(join(this.stateDir, f)))
      .filter((s): s is TaskState => s !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.task.metadata.name.localeCompare(b.task.metadata.name));
  }

  /** Discards a stage's files so that a new attempt never sees a previous attempt's leftovers. */
  resetStage(task: string, stage: string): StageFiles {
    const files = this.stageFiles(task, stage);
    rmSync(files.dir, { recursive: true, force: true });
    mkdirSync(files.dir, { recursive: true });
    return files;
  }
}

function readState(path: string): TaskState | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  const s = parsed as Partial<TaskState>;
  if (s?.version !== STATE_VERSION || !s.task?.metadata?.name || !s.status || !Array.isArray(s.stages)) return undefined;
  return s as TaskState;
}

let tmpCounter = 0;

/** Write to a temporary file in the same directory, fsync it, then rename over the target. */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
