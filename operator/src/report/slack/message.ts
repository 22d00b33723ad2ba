// Slack Block Kit rendering of a task: the thread's first message (updated in place) and the
// replies posted for each transition.
import type { TaskSummary } from '../summary.js';
import { redactTokenShapes as scrubSecrets } from '../../util/secrets.js';
import { buttonsFor } from './buttons.js';

const PHASE_EMOJI: Record<string, string> = {
  Pending: ':hourglass:', Queued: ':hourglass_flowing_sand:', Coding: ':pencil2:', Running: ':test_tube:',
  Repairing: ':wrench:', Accepting: ':mag:', Publishing: ':outbox_tray:', Suspended: ':double_vertical_bar:', Succeeded: ':white_check_mark:', Failed: ':x:',
};

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function headline(t: TaskSummary): string {
  const parts = [`${PHASE_EMOJI[t.phase] ?? ''} *${t.namespace}/${t.name}* — ${t.phase}${t.reason ? ` (${t.reason})` : ''}`];
  parts.push(`iteration ${t.iteration}`);
  if (t.tests) parts.push(`tests ${t.tests}`);
  if (t.cost) parts.push(`cost ${t.cost}`);
  return scrubSecrets(parts.join(' · ').trim());
}

/** controls: the Suspend / Resume, Stop and Retry buttons (when Slack can call the app back). */
export function taskMessage(t: TaskSummary, controls = false): SlackMessage {
  const fields = [
    { type: 'mrkdwn', text: `*Phase*\n${t.phase}${t.reason ? ` (${t.reason})` : ''}` },
    { type: 'mrkdwn', text: `*Iteration*\n${t.iteration}` },
    { type: 'mrkdwn', text: `*Tests*\n${t.tests ?? '–'}` },
    { type: 'mrkdwn', text: `*Cost*\n${t.cost ?? '–'}` },
  ];
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: scrubSecrets(`*${t.namespace}/${t.name}*\n>${truncate(t.goal.replace(/\n+/g, ' '), 280)}`) } },
    { type: 'section', fields },
  ];
  const result = [t.branch && `branch \`${t.branch}\``, t.commit && `commit \`${t.commit.slice(0, 12)}\``, t.pullRequestURL && `<${t.pullRequestURL}|pull request>`].filter(Boolean);
  if (result.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: result.join(' · ') }] });
  if (t.message) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: scrubSecrets(truncate(t.message, 500)) }] });
  const buttons = controls ? buttonsFor(t) : undefined;
  if (buttons) blocks.push(buttons);
  return { text: headline(t), blocks };
}

export function eventReply(reason: string, message: string, kind: 'Normal' | 'Warning'): string {
  return scrubSecrets(`${kind === 'Warning' ? ':warning: ' : ''}*${reason}*: ${truncate(message, 1500)}`);
}
