// The user-visible event of a task decision, as every shell passes it on (Kubernetes Events, the
// local events.log and terminal lines, Slack replies): the core's Event action without its type.
import type { Action } from '../core/types.js';

export type TaskEvent = Omit<Extract<Action, { type: 'Event' }>, 'type'>;

/** The events among a decision's actions, in order. */
export function eventsOf(actions: readonly Action[]): TaskEvent[] {
  return actions.flatMap((a) => (a.type === 'Event' ? [{ kind: a.kind, reason: a.reason, message: a.message }] : []));
}
