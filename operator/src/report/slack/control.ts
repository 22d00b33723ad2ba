// Slack as a control surface, for both tiers: the buttons on a task thread's first message
// (Suspend / Resume, Stop, Retry with an optional hint), a thread reply as guidance for the next
// repair, and the /autorun slash command (list, status NAME, new). Every action goes through a
// ControlTarget — a patch of the CodingTask through the Kubernetes API in the operator, of its state
// file in the local tier — which records it naming the Slack user. Who may act where is Access's
// call; everyone else gets an ephemeral refusal. Nothing here reads a secret or posts one.
import type { App, BlockAction, ButtonAction, SlashCommand, ViewSubmitAction } from '@slack/bolt';
import { redactTokenShapes } from '../../util/secrets.js';
import type { TaskSummary } from '../summary.js';
import type { Access } from './access.js';
import { headline } from './message.js';
import { ACTIONS, GRANT_ITERATIONS } from './buttons.js';

export { ACTIONS, buttonsFor } from './buttons.js';

export interface Actor {
  /** Slack user ID. */
  id: string;
  name?: string;
}

export interface TaskRef {
  namespace: string;
  name: string;
  summary: TaskSummary;
  /** ts of the task's Slack thread, when it has one. */
  thread?: string;
}

export interface NewTask {
  goal: string;
  repository?: string;
  pool?: string;
  name?: string;
}

export interface ControlTarget {
  tasks(): TaskRef[];
  setSuspend(ref: TaskRef, suspend: boolean, actor: Actor): Promise<void>;
  stop(ref: TaskRef, actor: Actor): Promise<void>;
  /** A failed task again, as a new task with the same spec and the hint added; its name. */
  retry(ref: TaskRef, hint: string | undefined, actor: Actor): Promise<string>;
  guide(ref: TaskRef, text: string, actor: Actor): Promise<void>;
  /** Resumes a task waiting in NeedsInput with more iterations (spec.escalation.grants). */
  grant(ref: TaskRef, iterations: number, actor: Actor): Promise<void>;
  create(namespace: string, task: NewTask, actor: Actor): Promise<string>;
}

export const VIEWS = { retry: 'autorun_retry_view', create: 'autorun_new_view' } as const;
export const COMMAND = '/autorun';

/** Who a Slack actor is, as Events and replies name them. */
export function actorText(a: Actor): string {
  return a.name ? `Slack user ${a.name} (${a.id})` : `Slack user ${a.id}`;
}

/** key=value arguments; values may be "quoted" or 'quoted'. */
export function parseArgs(text: string): { words: string[]; args: Record<string, string> } {
  const args: Record<string, string> = {};
  const words: string[] = [];
  const re = /([A-Za-z]+)=(?:"([^"]*)"|'([^']*)'|(\S+))|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[5] !== undefined) words.push(m[5]);
    else args[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return { words, args };
}

const HELP = [
  '`/autorun list` — the tasks in your namespaces',
  '`/autorun status NAME` (or `NAMESPACE/NAME`) — where a task is',
  '`/autorun new goal="..." [repository=URL] [pool=NAME] [namespace=NS] [name=NAME]` — a new task; `/autorun new` alone opens a form',
].join('\n');

export interface ControlOptions {
  target: ControlTarget;
  access: Access;
  /** The channel the task threads live in; thread replies elsewhere are not guidance. */
  channel: string;
  onError?: (err: unknown) => void;
}

export function registerControls(app: App, o: ControlOptions): void {
  const { target, access } = o;
  const onError = o.onError ?? (() => {});
  const find = (namespace: string, name: string) => target.tasks().find((t) => t.namespace === namespace && t.name === name);
  const inThread = async (ref: TaskRef | undefined, text: string) => {
    if (ref?.thread) await app.client.chat.postMessage({ channel: o.channel, thread_ts: ref.thread, text: redactTokenShapes(text) });
  };
  const refuse = async (channel: string | undefined, user: string, namespace: string) => {
    const text = `You may not act on tasks in namespace ${namespace}: ask an autorun admin to add you (or a user group of yours) to slack.access.`;
    if (channel) await app.client.chat.postEphemeral({ channel, user, text });
  };
  const actorOf = (id: string, name?: string): Actor => ({ id, ...(name ? { name } : {}) });

  app.action<BlockAction<ButtonAction>>(/^autorun_(suspend|resume|stop|retry|grant)$/, async ({ ack, body, action }) => {
    await ack();
    try {
      const [namespace, name] = splitRef(action.value ?? '');
      const actor = actorOf(body.user.id, body.user.username ?? body.user.name);
      const channel = body.channel?.id ?? o.channel;
      if (!(await access.allows(actor.id, namespace))) return await refuse(channel, actor.id, namespace);
      const ref = find(namespace, name);
      if (!ref) {
        await app.client.chat.postEphemeral({ channel, user: actor.id, text: `${namespace}/${name} no longer exists.` });
        return;
      }
      const who = `<@${actor.id}>`;
      switch (action.action_id) {
        case ACTIONS.suspend:
          await target.setSuspend(ref, true, actor);
          return await inThread(ref, `:double_vertical_bar: Suspended by ${who}: no new stage starts until it is resumed.`);
        case ACTIONS.resume:
          await target.setSuspend(ref, false, actor);
          return await inThread(ref, `:arrow_forward: Resumed by ${who}.`);
        case ACTIONS.stop:
          await target.stop(ref, actor);
          return await inThread(ref, `:octagonal_sign: Stopped for good by ${who}.`);
        case ACTIONS.grant:
          await target.grant(ref, GRANT_ITERATIONS, actor);
          return await inThread(ref, `:arrow_forward: ${GRANT_ITERATIONS} more iterations granted by ${who}; the task carries on from where it stopped. A reply here gives the agents a hint.`);
        case ACTIONS.retry:
          await app.client.views.open({ trigger_id: body.trigger_id, view: retryView(ref) as never });
          return;
      }
    } catch (err) {
      onError(err);
    }
  });

  app.view<ViewSubmitAction>(VIEWS.retry, async ({ ack, body, view }) => {
    await ack();
    try {
      const { namespace, name } = JSON.parse(view.private_metadata) as { namespace: string; name: string };
      const actor = actorOf(body.user.id, body.user.name);
      if (!(await access.allows(actor.id, namespace))) return await refuse(o.channel, actor.id, namespace);
      const ref = find(namespace, name);
      if (!ref) return;
      const hint = view.state.values.hint?.hint?.value?.trim() || undefined;
      const next = await target.retry(ref, hint, actor);
      // The local tier restarts the task in place (same name, same thread); the operator makes a new one.
      const as = next === name ? 'from iteration 1' : `as *${namespace}/${next}*`;
      await inThread(ref, `:repeat: Retried by <@${actor.id}> ${as}${hint ? ` with the hint: ${hint}` : ''}.`);
    } catch (err) {
      onError(err);
    }
  });

  app.view<ViewSubmitAction>(VIEWS.create, async ({ ack, body, view }) => {
    const v = view.state.values;
    const field = (id: string) => v[id]?.[id]?.value?.trim() || undefined;
    const namespace = field('namespace') ?? '';
    const actor = actorOf(body.user.id, body.user.name);
    if (!(await access.allows(actor.id, namespace))) {
      await ack({ response_action: 'errors', errors: { namespace: `You may not create tasks in namespace ${namespace || '(none)'}` } });
      return;
    }
    try {
      const name = await target.create(namespace, { goal: field('goal') ?? '', repository: field('repository'), pool: field('pool') }, actor);
      await ack();
      await app.client.chat.postEphemeral({ channel: o.channel, user: actor.id, text: `Created *${namespace}/${name}*; its thread follows in this channel.` });
    } catch (err) {
      await ack({ response_action: 'errors', errors: { goal: String((err as Error).message).slice(0, 300) } });
    }
  });

  app.command(COMMAND, async ({ command, ack, client }) => {
    const reply = (text: string) => ack({ response_type: 'ephemeral', text: redactTokenShapes(text) });
    try {
      await reply(await commandReply(command, client));
    } catch (err) {
      onError(err);
      await reply(`autorun: ${(err as Error).message}`).catch(() => undefined);
    }
  });

  const commandReply = async (command: SlashCommand, client: App['client']): Promise<string> => {
    const { words, args } = parseArgs(command.text ?? '');
    const mine = await access.namespaces(command.user_id);
    const may = (ns: string) => mine.has('*') || mine.has(ns);
    const actor = actorOf(command.user_id, command.user_name);
    switch (words[0]) {
      case 'list': {
        const rows = target.tasks().filter((t) => may(t.namespace));
        if (mine.size === 0) return 'You may not act on any namespace: ask an autorun admin to add you to slack.access.';
        return rows.length ? rows.map((t) => `• ${headline(t.summary)}`).join('\n') : 'No tasks in your namespaces.';
      }
      case 'status': {
        const want = words[1];
        if (!want) return 'Usage: `/autorun status NAME` or `/autorun status NAMESPACE/NAME`';
        const matches = target.tasks().filter((t) => (want.includes('/') ? `${t.namespace}/${t.name}` === want : t.name === want));
        const visible = matches.filter((t) => may(t.namespace));
        if (matches.length && !visible.length) return `You may not act on tasks in namespace ${matches[0]!.namespace}.`;
        if (visible.length > 1) return `${want} is in several namespaces: ${visible.map((t) => `${t.namespace}/${t.name}`).join(', ')}`;
        const t = visible[0];
        if (!t) return `No task ${want} in your namespaces.`;
        return [headline(t.summary), t.summary.message, t.summary.pullRequestURL && `pull request: ${t.summary.pullRequestURL}`].filter(Boolean).join('\n');
      }
      case 'new': {
        const own = [...mine].filter((n) => n !== '*');
        if (!args.goal) {
          await client.views.open({ trigger_id: command.trigger_id, view: createView(args.namespace ?? (own.length === 1 ? own[0] : undefined)) as never });
          return 'Opening the form…';
        }
        const namespace = args.namespace ?? (own.length === 1 ? own[0]! : '');
        if (!namespace) return 'Say which namespace: `namespace=NS`.';
        if (!may(namespace)) return `You may not create tasks in namespace ${namespace}.`;
        const name = await target.create(namespace, { goal: args.goal, repository: args.repository, pool: args.pool, name: args.name }, actor);
        return `Created *${namespace}/${name}*; its thread follows in this channel.`;
      }
      default:
        return HELP;
    }
  };

  // A reply in a task's thread from an allowed person is guidance for its next repair stage.
  app.event('message', async ({ event }) => {
    try {
      const m = event as { subtype?: string; bot_id?: string; thread_ts?: string; ts: string; user?: string; text?: string; channel: string };
      if (m.subtype || m.bot_id || !m.user || !m.thread_ts || m.thread_ts === m.ts || m.channel !== o.channel || !m.text?.trim()) return;
      const ref = target.tasks().find((t) => t.thread === m.thread_ts);
      if (!ref) return;
      if (!(await access.allows(m.user, ref.namespace))) return await refuse(m.channel, m.user, ref.namespace);
      const text = redactTokenShapes(m.text.trim()).slice(0, 4000);
      await target.guide(ref, text, actorOf(m.user));
      // A hint to a task that waits for a person is also the go-ahead to carry on.
      if (ref.summary.phase === 'NeedsInput') {
        await target.grant(ref, GRANT_ITERATIONS, actorOf(m.user));
        await inThread(ref, `:memo: Guidance from <@${m.user}> recorded and ${GRANT_ITERATIONS} more iterations granted: the task carries on with the next repair.`);
      } else {
        await inThread(ref, `:memo: Guidance from <@${m.user}> recorded: the next repair stage receives it.`);
      }
    } catch (err) {
      onError(err);
    }
  });
}

function splitRef(value: string): [string, string] {
  const i = value.indexOf('/');
  if (i <= 0) throw new Error(`bad task reference ${JSON.stringify(value)}`);
  return [value.slice(0, i), value.slice(i + 1)];
}

const input = (id: string, label: string, opts: { optional?: boolean; multiline?: boolean; initial?: string; hint?: string } = {}) => ({
  type: 'input',
  block_id: id,
  optional: opts.optional ?? false,
  label: { type: 'plain_text', text: label },
  ...(opts.hint ? { hint: { type: 'plain_text', text: opts.hint } } : {}),
  element: { type: 'plain_text_input', action_id: id, multiline: opts.multiline ?? false, ...(opts.initial ? { initial_value: opts.initial } : {}) },
});

function retryView(ref: TaskRef): unknown {
  return {
    type: 'modal',
    callback_id: VIEWS.retry,
    private_metadata: JSON.stringify({ namespace: ref.namespace, name: ref.name }),
    title: { type: 'plain_text', text: 'Retry the task' },
    submit: { type: 'plain_text', text: 'Retry' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${ref.namespace}/${ref.name}* runs again as a new task with the same spec.` } },
      input('hint', 'Hint for the agents', { optional: true, multiline: true, hint: 'Passed to every repair stage with the failure report.' }),
    ],
  };
}

function createView(namespace: string | undefined): unknown {
  return {
    type: 'modal',
    callback_id: VIEWS.create,
    title: { type: 'plain_text', text: 'New autorun task' },
    submit: { type: 'plain_text', text: 'Create' },
    blocks: [
      input('goal', 'Goal', { multiline: true, hint: 'What to build; state the file, function and behaviour the tests should exercise.' }),
      input('repository', 'Repository URL', { optional: true }),
      input('pool', 'AgentPool', { optional: true, initial: 'default' }),
      input('namespace', 'Namespace', { initial: namespace }),
    ],
  };
}
