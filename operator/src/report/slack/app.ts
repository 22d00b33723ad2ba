// The Bolt app: its WebClient posts the task threads. Configured from the environment so that the
// token only ever lives in a Secret-backed env var; slackApiUrl points tests at a loopback fake.
import bolt from '@slack/bolt';
import type { App as BoltApp } from '@slack/bolt';

export interface SlackConfig {
  token: string;
  channel: string;
  signingSecret?: string;
  slackApiUrl?: string;
  /** Retries of a failed Slack call; WebClient's default retries for ~30 minutes. */
  retries?: number;
}

export function slackConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SlackConfig | undefined {
  if (!env.SLACK_BOT_TOKEN || !env.SLACK_CHANNEL) return undefined;
  return {
    token: env.SLACK_BOT_TOKEN,
    channel: env.SLACK_CHANNEL,
    signingSecret: env.SLACK_SIGNING_SECRET,
    slackApiUrl: env.SLACK_API_URL,
    retries: env.SLACK_RETRIES ? Number(env.SLACK_RETRIES) : undefined,
  };
}

export function createSlackApp(cfg: SlackConfig): BoltApp {
  return new bolt.App({
    token: cfg.token,
    // Only the WebClient is used; the HTTP receiver is never started, but Bolt requires a secret.
    signingSecret: cfg.signingSecret ?? 'unused-receiver-not-started',
    tokenVerificationEnabled: false,
    clientOptions: {
      ...(cfg.slackApiUrl ? { slackApiUrl: cfg.slackApiUrl.endsWith('/') ? cfg.slackApiUrl : `${cfg.slackApiUrl}/` } : {}),
      retryConfig: { retries: cfg.retries ?? 5, factor: 2, minTimeout: 200, maxTimeout: 5000 },
      // WebClient has no request timeout by default: a hung connection must not hold a report forever.
      timeout: 10_000,
    },
  });
}
