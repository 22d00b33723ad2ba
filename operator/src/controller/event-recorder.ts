// Posts a task's Events, as client-go's recorder does: asynchronously and a few at a time, so a
// burst of transitions (a pool admitting a hundred tasks) does not share the apiserver with the
// Pod creates the hand-off waits for; named by content, so a repeated transition posts nothing;
// best effort, so no reconcile fails over an Event.
import pLimit from 'p-limit';
import type { CoreV1Event } from '@kubernetes/client-node';
import { API_VERSION, type CodingTask } from '../api/types.js';
import type { TaskEvent } from '../contract/events.js';
import type { Logger } from '../util/log.js';
import { errText } from './informer.js';
import type { KubeApi } from './kube.js';
import { eventName, RecentSet } from './status.js';

const EVENTS_IN_FLIGHT = 4;

export class EventRecorder {
  private readonly posted = new RecentSet();
  /** Events that are being posted; flush() waits for them. */
  private readonly posting = new Set<Promise<void>>();
  private readonly slots = pLimit(EVENTS_IN_FLIGHT);

  constructor(
    private readonly api: Pick<KubeApi, 'createEvent'>,
    private readonly log: Logger,
    private readonly identity: string,
  ) {}

  /**
   * Posts an Event off the reconcile's critical path. The name is reserved first, so a second
   * reconcile does not post it too. True when this call posts it (false: posted before, as a
   * deferred status change repeats it).
   */
  post(task: CodingTask, e: TaskEvent, key: string): boolean {
    const name = eventName(task.metadata.name, task.metadata.uid, task.metadata.generation, e.reason, e.message);
    if (this.posted.has(name)) return false;
    this.posted.add(name);
    const p = this.slots(() => this.send(task, e, key, name)).finally(() => this.posting.delete(p));
    this.posting.add(p);
    return true;
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.posting]);
  }

  private async send(task: CodingTask, e: TaskEvent, key: string, name: string): Promise<void> {
    const { namespace } = task.metadata;
    const event = taskEventObject(task, name, e.reason, e.message, e.kind, this.identity);
    try {
      await this.api.createEvent(namespace!, event, key);
    } catch (err) {
      this.log.warn('could not post event', { task: key, reason: e.reason, err: errText(err) });
    }
  }
}

/** A core/v1 Event about a CodingTask, as the operator reports it (the recorder, Slack's actions). */
export function taskEventObject(task: CodingTask, name: string, reason: string, message: string, type: TaskEvent['kind'], identity: string): CoreV1Event {
  const { namespace, uid } = task.metadata;
  const now = new Date();
  return {
    metadata: { name, namespace },
    involvedObject: { apiVersion: API_VERSION, kind: 'CodingTask', name: task.metadata.name, namespace, uid },
    reason,
    message: message.slice(0, 1024),
    type,
    source: { component: 'autorun-operator' },
    reportingComponent: 'autorun.dev/operator',
    reportingInstance: identity,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
