// The Bolt app: its WebClient posts the task threads. Configured from the environment so that the
// token only ever lives in a Secret-backed env var; slackApiUrl points tests at a loopback fake.
import bolt from '@slack/bolt';
import type { App as BoltApp } from '@slack/bolt';

export interface SlackConfig {
  token: string;
  channel: string;
  /** xapp- token: take interactions over Socket Mode (apps.connections.open, a websocket). */
  appToken?: string;
  /** With no app token: take them as HTTP requests signed with this secret, on eventsPort. */
  signingSecret?: string;
  /** Port of the HTTP receiver (POST /slack/events for events, actions, commands). Default 3000. */
  eventsPort?: number;
  /** SLACK_ACCESS: who may act on which namespaces (access.ts). */
  access?: string;
  slackApiUrl?: string;
  /** Retries of a failed Slack call; WebClient's default retries for ~30 minutes. */
  retries?: number;
  /**
   * SLACK_PULL_REQUEST: the spec.repository.pullRequest (JSON) that a task created by `/autorun new`
   * with a repository gets, so it ends with a pull request (new-task.ts).
   */
  pullRequest?: string;
}

export function slackConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SlackConfig | undefined {
  if (!env.SLACK_BOT_TOKEN || !env.SLACK_CHANNEL) return undefined;
  return {
    token: env.SLACK_BOT_TOKEN,
    channel: env.SLACK_CHANNEL,
    appToken: env.SLACK_APP_TOKEN || undefined,
    signingSecret: env.SLACK_SIGNING_SECRET || undefined,
    eventsPort: env.SLACK_EVENTS_PORT ? Number(env.SLACK_EVENTS_PORT) : undefined,
    access: env.SLACK_ACCESS,
    slackApiUrl: env.SLACK_API_URL,
    retries: env.SLACK_RETRIES ? Number(env.SLACK_RETRIES) : undefined,
    pullRequest: env.SLACK_PULL_REQUEST || undefined,
  };
}

/** Does the config take interactions (buttons, replies, /autorun), not only post? */
export function isInteractive(cfg: SlackConfig): boolean {
  return !!(cfg.appToken || cfg.signingSecret);
}

export function createSlackApp(cfg: SlackConfig): BoltApp {
  const clientOptions = {
    ...(cfg.slackApiUrl ? { slackApiUrl: cfg.slackApiUrl.endsWith('/') ? cfg.slackApiUrl : `${cfg.slackApiUrl}/` } : {}),
    retryConfig: { retries: cfg.retries ?? 5, factor: 2, minTimeout: 200, maxTimeout: 5000 },
    // WebClient has no request timeout by default: a hung connection must not hold a report forever.
    timeout: 10_000,
  };
  // Bolt builds its own Socket Mode receiver without our client options (the API URL), so it is made here.
  const receiver = cfg.appToken
    ? new bolt.SocketModeReceiver({ appToken: cfg.appToken, installerOptions: { clientOptions }, clientPingTimeout: 5000 })
    : cfg.signingSecret
      ? new bolt.HTTPReceiver({ signingSecret: cfg.signingSecret, endpoints: '/slack/events', port: cfg.eventsPort ?? 3000 })
      : undefined;
  return new bolt.App({
    token: cfg.token,
    ...(receiver ? { receiver } : { signingSecret: 'unused-receiver-not-started' }),
    tokenVerificationEnabled: false,
    clientOptions,
  });
}
