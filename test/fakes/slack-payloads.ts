// What Slack sends an app when a person acts (Socket Mode envelopes' payloads), delivered through
// the fake Slack's socket: a button click, a modal submitted, a slash command, a thread reply.
import type { FakeSlack } from './slack-server.js';

const user = (id: string) => ({ id, username: id.slice(1).toLowerCase(), name: id.slice(1).toLowerCase(), team_id: 'T1' });

/** A click on a task thread's button; value is NAMESPACE/NAME as the buttons carry it. */
export function click(slack: FakeSlack, channel: string, who: string, action: string, value: string, ts: string) {
  return slack.deliver('interactive', {
    type: 'block_actions',
    user: user(who),
    api_app_id: 'A0AUTORUN',
    token: 'verification-token',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
    trigger_id: `trigger-${action}-${who}`,
    team: { id: 'T1', domain: 'acme' },
    channel: { id: channel, name: 'autorun' },
    message: { ts, text: '' },
    response_url: 'http://127.0.0.1:9/unused',
    actions: [{ type: 'button', action_id: action, block_id: 'autorun_controls', value, text: { type: 'plain_text', text: action }, action_ts: '1' }],
  });
}

export function command(slack: FakeSlack, channel: string, who: string, text: string) {
  return slack.deliver('slash_commands', {
    command: '/autorun',
    text,
    user_id: who,
    user_name: who.slice(1).toLowerCase(),
    channel_id: channel,
    team_id: 'T1',
    trigger_id: `trigger-cmd-${who}`,
    response_url: 'http://127.0.0.1:9/unused',
    api_app_id: 'A0AUTORUN',
    token: 'verification-token',
  });
}

export function submit(slack: FakeSlack, who: string, callbackId: string, values: Record<string, string>, privateMetadata = '') {
  return slack.deliver('interactive', {
    type: 'view_submission',
    team: { id: 'T1', domain: 'acme' },
    user: user(who),
    api_app_id: 'A0AUTORUN',
    token: 'verification-token',
    trigger_id: `trigger-view-${who}`,
    view: {
      id: 'V1',
      type: 'modal',
      callback_id: callbackId,
      private_metadata: privateMetadata,
      hash: 'h1',
      state: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { [k]: { type: 'plain_text_input', value: v } }])) },
    },
  });
}
