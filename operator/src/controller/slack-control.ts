// What Slack's controls do in the cluster: each one is a patch (or a create) of a CodingTask through
// the Kubernetes API, and an Event on the task naming the Slack user, so `kubectl describe ct`
// shows who did what. The loop core then reacts to the new spec like to any kubectl edit.
import { randomBytes } from 'node:crypto';
import { API_VERSION, type CodingTask } from '../api/types.js';
import { actorText, type Actor, type ControlTarget, type NewTask, type TaskRef } from '../report/slack/control.js';
import { summarize } from '../report/summary.js';
import { newTaskSpec, type PullRequestSettings } from '../report/slack/new-task.js';
import type { Logger } from '../util/log.js';
import { errText } from './informer.js';
import { httpCode, type KubeApi } from './kube.js';
import { SLACK_THREAD_ANNOTATION } from './slack.js';
import { taskEventObject } from './event-recorder.js';

export const RETRY_OF_LABEL = 'autorun.dev/retry-of';
const MAX_GUIDANCE = 20;
const MAX_GRANTS = 10;
/** Task names are at most 40 characters; generateName adds 5. */
const RETRY_PREFIX_MAX = 33;

export class KubeControl implements ControlTarget {
  constructor(
    private readonly api: KubeApi,
    private readonly cached: () => readonly CodingTask[],
    private readonly identity: string,
    private readonly log: Logger,
    private readonly pullRequest?: PullRequestSettings,
  ) {}

  tasks(): TaskRef[] {
    return this.cached().map((t) => ({
      namespace: t.metadata.namespace!,
      name: t.metadata.name,
      summary: summarize(t.metadata.namespace!, t.metadata.name, t.spec.goal ?? '', t.status),
      thread: t.metadata.annotations?.[SLACK_THREAD_ANNOTATION],
    }));
  }

  async setSuspend(ref: TaskRef, suspend: boolean, actor: Actor): Promise<void> {
    const t = await this.api.patchTask(ref.namespace, ref.name, { spec: { suspend } });
    await this.event(t, suspend ? 'SuspendedFromSlack' : 'ResumedFromSlack', `${suspend ? 'suspended' : 'resumed'} by ${actorText(actor)}`);
  }

  async stop(ref: TaskRef, actor: Actor): Promise<void> {
    const t = await this.api.patchTask(ref.namespace, ref.name, { spec: { stop: true } });
    await this.event(t, 'StoppedFromSlack', `stopped for good by ${actorText(actor)}`);
  }

  async guide(ref: TaskRef, text: string, actor: Actor): Promise<void> {
    const t = await this.appendTo(ref, (spec) => ({ guidance: [...(spec.guidance ?? []), text].slice(-MAX_GUIDANCE) }));
    await this.event(t, 'GuidanceFromSlack', `guidance from ${actorText(actor)} for the next repair stage: ${text}`);
  }

  async grant(ref: TaskRef, iterations: number, actor: Actor): Promise<void> {
    const t = await this.appendTo(ref, (spec) => {
      const grants = [...(spec.escalation?.grants ?? []), { iterations, by: actorText(actor).slice(0, 256) }];
      if (grants.length > MAX_GRANTS) throw new Error(`${ref.namespace}/${ref.name} has had ${MAX_GRANTS} grants already: stop it or retry it`);
      return { escalation: { grants } };
    });
    await this.event(t, 'GrantedFromSlack', `${iterations} more iterations granted by ${actorText(actor)}`);
  }

  /** Read-modify-write of list fields with the resourceVersion: two replies at once must both land. */
  private async appendTo(ref: TaskRef, change: (spec: CodingTask['spec']) => object): Promise<CodingTask> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.api.readTask(ref.namespace, ref.name);
      try {
        return await this.api.patchTask(ref.namespace, ref.name, { metadata: { resourceVersion: cur.metadata.resourceVersion }, spec: change(cur.spec) });
      } catch (err) {
        if (httpCode(err) !== 409 || attempt >= 4) throw err;
      }
    }
  }

  async retry(ref: TaskRef, hint: string | undefined, actor: Actor): Promise<string> {
    const old = await this.api.readTask(ref.namespace, ref.name);
    const base = (old.metadata.labels?.[RETRY_OF_LABEL] ?? old.metadata.name).slice(0, RETRY_PREFIX_MAX).replace(/-+$/, '');
    const guidance = [...(old.spec.guidance ?? []), ...(hint ? [hint] : [])].slice(-MAX_GUIDANCE);
    const created = await this.api.createTask(ref.namespace, {
      apiVersion: API_VERSION,
      kind: 'CodingTask',
      metadata: { generateName: `${base}-r`, labels: { [RETRY_OF_LABEL]: base }, annotations: { 'autorun.dev/retried-from': old.metadata.name } },
      spec: { ...old.spec, suspend: false, stop: false, ...(guidance.length ? { guidance } : {}) },
    });
    const name = created.metadata.name;
    await this.event(old, 'RetriedFromSlack', `retried as ${name} by ${actorText(actor)}${hint ? ` with a hint: ${hint}` : ''}`);
    await this.event(created, 'CreatedFromSlack', `a retry of ${old.metadata.name}, by ${actorText(actor)}`);
    return name;
  }

  async create(namespace: string, task: NewTask, actor: Actor): Promise<string> {
    const created = await this.api.createTask(namespace, {
      apiVersion: API_VERSION,
      kind: 'CodingTask',
      metadata: task.name ? { name: task.name } : { generateName: 'slack-' },
      spec: newTaskSpec(task, this.pullRequest),
    });
    await this.event(created, 'CreatedFromSlack', `created by ${actorText(actor)}`);
    return created.metadata.name;
  }

  private async event(t: CodingTask, reason: string, message: string): Promise<void> {
    const { namespace, name } = t.metadata;
    const event = taskEventObject(t, `${name}.slack.${randomBytes(6).toString('hex')}`, reason, message, 'Normal', this.identity);
    try {
      await this.api.createEvent(namespace!, event, `${namespace}/${name}`);
    } catch (err) {
      this.log.warn('could not post event', { task: `${namespace}/${name}`, reason, err: errText(err) });
    }
  }
}
