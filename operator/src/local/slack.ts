// Slack for `autorun run`: the same thread per task the operator keeps (first message updated in
// place, a reply per event), on when SLACK_BOT_TOKEN and SLACK_CHANNEL are set. The thread's ts lives
// in the task's state file, so a resumed run keeps posting to the same thread. Slack is a side
// channel: calls run in the background, errors become one line on the terminal, and the run neither
// waits for Slack nor fails because of it (it waits a bounded time at the end for the last update).
import { redact } from '../util/secrets.js';
import type { App } from '@slack/bolt';
import { createSlackApp, isInteractive, slackConfigFromEnv, type SlackConfig } from '../report/slack/app.js';
import { Access, parseAccess } from '../report/slack/access.js';
import { registerControls } from '../report/slack/control.js';
import { LocalControl } from './control.js';
import type { LocalTaskFactory } from './people-tasks.js';
import { SlackReporter, type TaskEvent, type ThreadStore } from '../report/slack/reporter.js';
import { summarize } from '../report/summary.js';
import type { LocalTask } from './runner.js';
import type { StateDir } from './state.js';

export const SLACK_FLUSH_MS = 15_000;

/** The thread's ts in the task's state; a thread in another channel does not count. */
class StateThreads implements ThreadStore {
  constructor(
    // Looked up on each call: `/autorun new` adds tasks while the run goes on.
    private readonly tasks: LocalTask[],
    private readonly dir: StateDir,
    private readonly channel: string,
  ) {}
  private find(key: string): LocalTask | undefined {
    return this.tasks.find((t) => taskKey(t) === key);
  }
  async get(key: string): Promise<string | undefined> {
    const slack = this.find(key)?.state.slack;
    return slack?.channel === this.channel ? slack.ts : undefined;
  }
  async set(key: string, ts: string): Promise<void> {
    const t = this.find(key);
    if (!t) return;
    t.state.slack = { channel: this.channel, ts };
    this.dir.save(t.state);
  }
}

export function taskKey(t: LocalTask): string {
  return `${t.state.task.metadata.namespace ?? 'default'}/${t.state.task.metadata.name}`;
}

export class LocalSlack {
  private errors = 0;

  private constructor(
    private readonly reporter: SlackReporter,
    private readonly secrets: readonly string[],
    private readonly app: App,
    private readonly cfg: SlackConfig,
    private readonly tasks: LocalTask[],
    private readonly dir: StateDir,
    private readonly warn: (line: string) => void,
  ) {}

  private started = false;

  /** With SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP): take the controls; false otherwise. */
  async startControls(changed: () => void, factory?: LocalTaskFactory): Promise<boolean> {
    if (!isInteractive(this.cfg)) return false;
    const access = new Access(parseAccess(this.cfg.access), this.app.client);
    registerControls(this.app, { target: new LocalControl(this.tasks, this.dir, changed, factory), access, channel: this.cfg.channel, onError: (err) => this.warn(`slack: ${redact((err as Error).message ?? String(err), this.secrets)}`) });
    await this.app.start();
    this.started = true;
    return true;
  }

  async stopControls(): Promise<void> {
    if (this.started) await this.app.stop().catch(() => undefined);
    this.started = false;
  }

  /** Undefined unless SLACK_BOT_TOKEN and SLACK_CHANNEL are set. */
  static fromEnv(env: NodeJS.ProcessEnv, tasks: LocalTask[], dir: StateDir, secrets: readonly string[], warn: (line: string) => void): LocalSlack | undefined {
    const cfg = slackConfigFromEnv(env);
    if (!cfg) return undefined;
    let slack: LocalSlack | undefined = undefined;
    const onError = (err: unknown): void => {
      if (!slack || slack.errors++ > 0) return;
      // Slack's errors name the method and the error code, never the token; redact anyway.
      warn(`slack: ${redact(err instanceof Error ? err.message : String(err), [cfg.token, ...secrets])} (the run goes on; further Slack errors are not shown)`);
    };
    const app = createSlackApp(cfg);
    const secretsAll = [cfg.token, ...(cfg.appToken ? [cfg.appToken] : []), ...(cfg.signingSecret ? [cfg.signingSecret] : []), ...secrets];
    slack = new LocalSlack(new SlackReporter(app, cfg.channel, new StateThreads(tasks, dir, cfg.channel), onError, isInteractive(cfg)), secretsAll, app, cfg, tasks, dir, warn);
    return slack;
  }

  /** Queues an update of the task's thread; never throws, never waits. */
  report(t: LocalTask, events: TaskEvent[]): void {
    const s = t.state;
    const summary = summarize(s.task.metadata.namespace ?? 'default', s.task.metadata.name, s.task.spec.goal, s.status);
    if (summary.message) summary.message = redact(summary.message, this.secrets);
    const safe = events.map((e) => ({ ...e, message: redact(e.message, this.secrets) }));
    void this.reporter.report(summary, safe);
  }

  /** Waits for the queued updates, at most `ms`; returns whether all of them finished. */
  async flush(ms = SLACK_FLUSH_MS): Promise<boolean> {
    return this.reporter.flush(ms);
  }


  get failed(): number {
    return this.errors;
  }
}
