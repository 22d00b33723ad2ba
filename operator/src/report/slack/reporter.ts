// One Slack thread per task: the first message is updated in place as the task advances, and each
// user-visible event becomes a reply. Calls for one task are serialised so concurrent transitions
// can never open two threads; the thread's ts is kept in a ThreadStore (the operator stores it in
// an annotation on the task, so a restarted or new leader keeps posting to the same thread).
import { createHash } from 'node:crypto';
import type { App } from '@slack/bolt';
import type { TaskSummary } from '../summary.js';
import type { TaskEvent } from '../../contract/events.js';
import { eventReply, taskMessage } from './message.js';

export interface ThreadStore {
  get(taskKey: string): Promise<string | undefined>;
  set(taskKey: string, ts: string): Promise<void>;
}

export class MemoryThreadStore implements ThreadStore {
  private readonly threads = new Map<string, string>();
  async get(key: string): Promise<string | undefined> {
    return this.threads.get(key);
  }
  async set(key: string, ts: string): Promise<void> {
    this.threads.set(key, ts);
  }
}

export type { TaskEvent };

export class SlackReporter {
  private readonly chains = new Map<string, Promise<void>>();
  /** Digest of the last message each thread shows, so an unchanged task is not re-sent. */
  private readonly lastText = new Map<string, string>();

  constructor(
    private readonly app: Pick<App, 'client'>,
    private readonly channel: string,
    private readonly threads: ThreadStore = new MemoryThreadStore(),
    private readonly onError: (err: unknown) => void = () => {},
    /** Put the control buttons on the first message (the app listens for them). */
    private readonly controls = false,
  ) {}

  /** Brings the task's thread up to date; resolves when Slack has it (errors go to onError). */
  report(task: TaskSummary, events: TaskEvent[] = []): Promise<void> {
    const key = `${task.namespace}/${task.name}`;
    const next = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.send(key, task, events))
      .catch((err) => this.onError(err))
      // Only a pending chain is kept: an idle task costs one digest, not a promise per task.
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
    return next;
  }

  /**
   * Waits for the updates queued so far, at most `ms` (a shutdown or a hand-over of leadership must
   * not hang on Slack); true when all of them finished. Both shells flush through this.
   */
  async flush(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const all = Promise.allSettled([...this.chains.values()]).then(() => true as const);
    try {
      return await Promise.race([all, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(key: string, task: TaskSummary, events: TaskEvent[]): Promise<void> {
    const msg = taskMessage(task, this.controls);
    const digest = createHash('sha256').update(JSON.stringify(msg)).digest('base64');
    let ts = await this.threads.get(key);
    if (!ts) {
      const res = await this.app.client.chat.postMessage({ channel: this.channel, text: msg.text, blocks: msg.blocks as never });
      if (!res.ts) throw new Error(`chat.postMessage for ${key} returned no ts`);
      ts = res.ts;
      await this.threads.set(key, ts);
    } else if (this.lastText.get(key) !== digest) {
      await this.app.client.chat.update({ channel: this.channel, ts, text: msg.text, blocks: msg.blocks as never });
    }
    this.lastText.set(key, digest);
    for (const e of events) {
      const ping = e.reason === 'NeedsInput' && task.notifyUserGroup ? `<!subteam^${task.notifyUserGroup}> ` : '';
      await this.app.client.chat.postMessage({ channel: this.channel, thread_ts: ts, text: ping + eventReply(e.reason, e.message, e.kind) });
    }
  }
}
