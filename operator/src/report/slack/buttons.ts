// The controls on a task thread's first message: which buttons a task shows in its phase. The
// handlers behind them are in control.ts.
import type { TaskSummary } from '../summary.js';

export const ACTIONS = { suspend: 'autorun_suspend', resume: 'autorun_resume', stop: 'autorun_stop', retry: 'autorun_retry', grant: 'autorun_grant' } as const;
/** Iterations the Grant button (and a thread reply to a task waiting in NeedsInput) gives. */
export const GRANT_ITERATIONS = 2;

/** The buttons a task's first message carries in its phase. */
export function buttonsFor(t: Pick<TaskSummary, 'namespace' | 'name' | 'phase'>): unknown | undefined {
  const value = `${t.namespace}/${t.name}`;
  const button = (text: string, action_id: string, style?: 'primary' | 'danger') => ({ type: 'button', text: { type: 'plain_text', text }, action_id, value, ...(style ? { style } : {}) });
  const els: unknown[] = [];
  if (t.phase === 'Failed') els.push(button('Retry', ACTIONS.retry, 'primary'));
  else if (t.phase !== 'Succeeded') {
    if (t.phase === 'NeedsInput') els.push(button(`Grant ${GRANT_ITERATIONS} more iterations`, ACTIONS.grant, 'primary'));
    else els.push(t.phase === 'Suspended' ? button('Resume', ACTIONS.resume, 'primary') : button('Suspend', ACTIONS.suspend));
    els.push({ ...(button('Stop', ACTIONS.stop, 'danger') as object), confirm: { title: { type: 'plain_text', text: 'Stop the task?' }, text: { type: 'mrkdwn', text: `*${value}* ends Failed (Stopped) and its stages are stopped.` }, confirm: { type: 'plain_text', text: 'Stop' }, deny: { type: 'plain_text', text: 'Keep it' } } });
  }
  return els.length ? { type: 'actions', block_id: 'autorun_controls', elements: els } : undefined;
}

