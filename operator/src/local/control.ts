// Slack's controls in the local tier: each one changes the task's state (TaskState.people, applied
// over the manifest's spec, so a resumed run keeps it) and is recorded in the task's events.log
// naming the Slack user; the runner is woken to decide again. Retry starts a failed task again in
// place and `/autorun new` adds a task to the running run (people-tasks.ts).
import { appendFileSync, mkdirSync } from 'node:fs';
import { actorText, type Actor, type ControlTarget, type NewTask, type TaskRef } from '../report/slack/control.js';
import { summarize } from '../report/summary.js';
import type { LocalTask } from './runner.js';
import { createLocalTask, restartLocalTask, unapplyPeople, type LocalTaskFactory } from './people-tasks.js';
import { withPeople, type PeopleSpec, type StateDir } from './state.js';

const MAX_GUIDANCE = 20;
const MAX_GRANTS = 10;

export class LocalControl implements ControlTarget {
  constructor(
    private readonly local: LocalTask[],
    private readonly dir: StateDir,
    private readonly changed: () => void,
    private readonly factory?: LocalTaskFactory,
    private readonly now: () => Date = () => new Date(),
  ) {}

  tasks(): TaskRef[] {
    return this.local.map((t) => {
      const ns = t.state.task.metadata.namespace ?? 'default';
      const name = t.state.task.metadata.name;
      return { namespace: ns, name, summary: summarize(ns, name, t.state.task.spec.goal, t.state.status), ...(t.state.slack ? { thread: t.state.slack.ts } : {}) };
    });
  }

  async setSuspend(ref: TaskRef, suspend: boolean, actor: Actor): Promise<void> {
    this.change(ref, (p) => ({ ...p, suspend }), 'SuspendedFromSlack', `${suspend ? 'suspended' : 'resumed'} by ${actorText(actor)}`);
  }

  async stop(ref: TaskRef, actor: Actor): Promise<void> {
    this.change(ref, (p) => ({ ...p, stop: true }), 'StoppedFromSlack', `stopped for good by ${actorText(actor)}`);
  }

  async guide(ref: TaskRef, text: string, actor: Actor): Promise<void> {
    this.change(ref, (p) => ({ ...p, guidance: [...(p.guidance ?? []), text].slice(-MAX_GUIDANCE) }), 'GuidanceFromSlack', `guidance from ${actorText(actor)} for the next repair stage: ${text}`);
  }

  async grant(ref: TaskRef, iterations: number, actor: Actor): Promise<void> {
    this.change(
      ref,
      (p) => {
        const grants = [...(p.grants ?? []), { iterations, by: actorText(actor).slice(0, 256) }];
        if (grants.length > MAX_GRANTS) throw new Error(`${ref.name} has had ${MAX_GRANTS} grants already`);
        return { ...p, grants };
      },
      'GrantedFromSlack',
      `${iterations} more iterations granted by ${actorText(actor)}`,
    );
  }

  async retry(ref: TaskRef, hint: string | undefined, actor: Actor): Promise<string> {
    const t = this.find(ref);
    const n = restartLocalTask(this.dir, t, hint, this.now());
    this.log(ref.name, 'RetriedFromSlack', `started again (retry ${n}) by ${actorText(actor)}${hint ? ` with a hint: ${hint}` : ''}; the failed run's stages are in retries/${n}/`);
    this.changed();
    return ref.name;
  }

  async create(namespace: string, task: NewTask, actor: Actor): Promise<string> {
    if (!this.factory) throw new Error('this run takes no new tasks');
    const t = createLocalTask(this.factory, this.local, namespace, task, actorText(actor));
    const name = t.state.task.metadata.name;
    this.log(name, 'CreatedFromSlack', `created by ${actorText(actor)}`);
    this.changed();
    return name;
  }

  private find(ref: TaskRef): LocalTask {
    const t = this.local.find((x) => x.state.task.metadata.name === ref.name);
    if (!t) throw new Error(`no task ${ref.name} in this run`);
    return t;
  }

  private log(task: string, reason: string, message: string): void {
    try {
      mkdirSync(this.dir.taskDir(task), { recursive: true });
      appendFileSync(`${this.dir.taskDir(task)}/events.log`, JSON.stringify({ time: this.now().toISOString(), type: 'Event', kind: 'Normal', reason, message }) + '\n');
    } catch {
      // The event log is a convenience; the state file is the record.
    }
  }

  private change(ref: TaskRef, f: (p: PeopleSpec) => PeopleSpec, reason: string, message: string): void {
    const t = this.find(ref);
    const before = t.state.people ?? {};
    const people = f(before);
    // The manifest's spec is the state's spec without what people added before.
    const base = unapplyPeople(t.state.task.spec, before);
    t.state.people = people;
    t.state.task = { ...t.state.task, spec: withPeople(base, people), metadata: { ...t.state.task.metadata, generation: (t.state.task.metadata.generation ?? 1) + 1 } };
    this.dir.save(t.state);
    this.log(ref.name, reason, message);
    this.changed();
  }
}
