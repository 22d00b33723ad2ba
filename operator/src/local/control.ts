// Slack's controls in the local tier: each one changes the task's state (TaskState.people, applied
// over the manifest's spec, so a resumed run keeps it) and is recorded in the task's events.log
// naming the Slack user; the runner is woken to decide again. New tasks and retries come from
// manifests here, so those two are refused with a message saying so.
import { appendFileSync, mkdirSync } from 'node:fs';
import { actorText, type Actor, type ControlTarget, type NewTask, type TaskRef } from '../report/slack/control.js';
import { summarize } from '../report/summary.js';
import type { LocalTask } from './runner.js';
import { withPeople, type PeopleSpec, type StateDir } from './state.js';

const MAX_GUIDANCE = 20;
const MAX_GRANTS = 10;

export class LocalControl implements ControlTarget {
  constructor(
    private readonly local: LocalTask[],
    private readonly dir: StateDir,
    private readonly changed: () => void,
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

  async retry(): Promise<string> {
    throw new Error('the local tier retries from its manifests: delete .autorun/state/<task>.json and run the same command again');
  }

  async create(_namespace: string, _task: NewTask): Promise<string> {
    throw new Error('the local tier takes its tasks from the files given to `autorun run`');
  }

  private change(ref: TaskRef, f: (p: PeopleSpec) => PeopleSpec, reason: string, message: string): void {
    const t = this.local.find((x) => x.state.task.metadata.name === ref.name);
    if (!t) throw new Error(`no task ${ref.name} in this run`);
    const before = t.state.people ?? {};
    const people = f(before);
    // The manifest's spec is the state's spec without what people added before.
    const base = unapply(t.state.task.spec, before);
    t.state.people = people;
    t.state.task = { ...t.state.task, spec: withPeople(base, people), metadata: { ...t.state.task.metadata, generation: (t.state.task.metadata.generation ?? 1) + 1 } };
    this.dir.save(t.state);
    try {
      mkdirSync(this.dir.taskDir(ref.name), { recursive: true });
      appendFileSync(`${this.dir.taskDir(ref.name)}/events.log`, JSON.stringify({ time: this.now().toISOString(), type: 'Event', kind: 'Normal', reason, message }) + '\n');
    } catch {
      // The event log is a convenience; the state file is the record.
    }
    this.changed();
  }
}

/** The spec before `people` was applied (withPeople's inverse for the fields it touches). */
function unapply(spec: LocalTask['state']['task']['spec'], people: PeopleSpec): LocalTask['state']['task']['spec'] {
  const out: Record<string, unknown> = { ...spec };
  const g = people.guidance?.length ?? 0;
  if (g) out.guidance = (spec.guidance ?? []).slice(0, (spec.guidance?.length ?? 0) - g);
  const n = people.grants?.length ?? 0;
  if (n && spec.escalation) out.escalation = { ...spec.escalation, grants: (spec.escalation.grants ?? []).slice(0, (spec.escalation.grants?.length ?? 0) - n) };
  return out as unknown as LocalTask['state']['task']['spec'];
}
