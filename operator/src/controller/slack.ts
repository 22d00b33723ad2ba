// The operator's Slack hook: after a reconcile that changed a task's status or posted Events, its
// thread is brought up to date off the critical path (a slow or failing Slack never delays or fails
// a reconcile). The thread's ts lives in an annotation on the task, so a new leader (or a restarted
// one) keeps posting to the same thread instead of opening a second one.
import type { CodingTask, CodingTaskStatus } from '../api/types.js';
import type { SlackConfig } from '../report/slack/app.js';
import { SlackReporter, type TaskEvent, type ThreadStore } from '../report/slack/reporter.js';
import { summarize } from '../report/summary.js';
import type { Logger } from '../util/log.js';
import { errText } from './informer.js';
import type { KubeApi } from './kube.js';

export const SLACK_THREAD_ANNOTATION = 'autorun.dev/slack-thread';

/**
 * Thread ts per task: the cached task's annotation, or the one this replica just wrote (the cache
 * lags the patch by a watch event). Only the leader reports, so there is one writer.
 */
export class AnnotationThreadStore implements ThreadStore {
  private readonly written = new Map<string, string>();

  constructor(
    private readonly api: KubeApi,
    private readonly cachedTask: (namespace: string, name: string) => CodingTask | undefined,
  ) {}

  async get(taskKey: string): Promise<string | undefined> {
    const [namespace, name] = split(taskKey);
    return this.cachedTask(namespace, name)?.metadata.annotations?.[SLACK_THREAD_ANNOTATION] ?? this.written.get(taskKey);
  }

  async set(taskKey: string, ts: string): Promise<void> {
    const [namespace, name] = split(taskKey);
    this.written.set(taskKey, ts);
    await this.api.patchTaskAnnotations(namespace, name, { [SLACK_THREAD_ANNOTATION]: ts }, taskKey);
  }

  forget(taskKey: string): void {
    this.written.delete(taskKey);
  }
}

function split(taskKey: string): [string, string] {
  const i = taskKey.indexOf('/');
  return [taskKey.slice(0, i), taskKey.slice(i + 1)];
}

export interface TaskReporterOptions {
  config: SlackConfig;
  api: KubeApi;
  cachedTask: (namespace: string, name: string) => CodingTask | undefined;
  /** Every cached task, for the controls (list, thread → task). */
  cachedTasks?: () => readonly CodingTask[];
  identity?: string;
  log: Logger;
}

export class TaskReporter {
  private readonly reporter: SlackReporter;
  private readonly threads: AnnotationThreadStore;

  /**
   * Bolt is loaded only when Slack is configured: an operator without it does not carry its weight.
   * With an app token (Socket Mode) or a signing secret (HTTP) the app also takes the controls.
   */
  static async create(o: TaskReporterOptions): Promise<TaskReporter> {
    const { createSlackApp, isInteractive } = await import('../report/slack/app.js');
    const app = createSlackApp(o.config);
    const interactive = isInteractive(o.config);
    const r = new TaskReporter(o, app, interactive);
    if (interactive) {
      const [{ Access, parseAccess }, { registerControls }, { KubeControl }, { parsePullRequestSettings }] = await Promise.all([
        import('../report/slack/access.js'),
        import('../report/slack/control.js'),
        import('./slack-control.js'),
        import('../report/slack/new-task.js'),
      ]);
      const target = new KubeControl(o.api, o.cachedTasks ?? (() => []), o.identity ?? 'autorun-operator', o.log, parsePullRequestSettings(o.config.pullRequest));
      registerControls(app, { target, access: new Access(parseAccess(o.config.access), app.client), channel: o.config.channel, onError: (err) => o.log.warn('slack control failed', { err: errText(err) }) });
      await app.start();
      r.stopApp = () => app.stop();
      o.log.info('slack controls listening', { mode: o.config.appToken ? 'socket' : 'http' });
    }
    return r;
  }

  private stopApp: (() => Promise<unknown>) | undefined;

  private constructor(o: TaskReporterOptions, app: ConstructorParameters<typeof SlackReporter>[0], controls: boolean) {
    this.threads = new AnnotationThreadStore(o.api, o.cachedTask);
    // The error text comes from WebClient or the apiserver, never with the token in it.
    this.reporter = new SlackReporter(app, o.config.channel, this.threads, (err) => o.log.warn('slack report failed', { err: errText(err) }), controls);
  }

  /** Stops taking Slack interactions (Socket Mode connection or HTTP port). */
  async close(): Promise<void> {
    await this.stopApp?.().catch(() => undefined);
    this.stopApp = undefined;
  }

  /** Queues the update of the task's thread and returns at once. */
  report(task: CodingTask, status: CodingTaskStatus, events: TaskEvent[]): void {
    const { namespace, name } = task.metadata;
    void this.reporter.report(summarize(namespace!, name, task.spec.goal ?? '', status, task.spec.escalation?.notifyUserGroup), events);
  }

  forgetTask(namespace: string, name: string): void {
    this.threads.forget(`${namespace}/${name}`);
  }

  /** Waits (at most timeoutMs) for queued reports, for a graceful hand-over of leadership. */
  async flush(timeoutMs = 5000): Promise<void> {
    await this.reporter.flush(timeoutMs);
  }

}
