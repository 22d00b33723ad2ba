// The conformance scenarios (scenarios.ts) through the local tier: the built CLI, `autorun run`, as
// a user runs it, each stage a local process. The stage agent (agent.mjs) asks this test what to
// answer, so every stage ends as the scenario says, exactly as the operator's Pods do in
// cluster.test.ts. A person's actions go the local tier's own ways: more tasks are a second
// `autorun run` with more files (after Ctrl-C), suspend and resume are Slack's buttons.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodingTaskStatus } from '../../operator/src/api/types.js';
import { FakeSlack } from '../fakes/slack-server.js';
import { build, cliEnv, scratch, startCli, type CliRun } from '../e2e/local/helpers.js';
import { observed, SCENARIOS, seen, startOrder, until, type Scenario, type Stage, type TaskDef, type Tier } from './scenarios.js';

const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));
const CHANNEL = 'C0CONFORM';

beforeAll(() => build(), 120_000);

/** Answers the stage agents from the scenario's script; a held stage's answer waits for its gate. */
async function answerStages(sc: Scenario): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const stage = JSON.parse(body) as Stage;
      const e = sc.script(stage);
      const reply = (): void => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify('crash' in e ? { crash: e.crash } : { result: e.result }));
      };
      if ('until' in e && e.until) void e.until.then(reply);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function manifest(sc: Scenario, tasks: TaskDef[]): string {
  // JSON documents: YAML reads them as they are.
  const docs: unknown[] = [
    {
      apiVersion: 'autorun.dev/v1alpha1',
      kind: 'AgentPool',
      metadata: { name: 'default' },
      spec: { maxConcurrentTasks: sc.maxConcurrentTasks ?? 16, model: { provider: 'anthropic', name: 'claude-sonnet-4-5', apiKeySecretRef: { name: 'anthropic', key: 'api-key' } }, roles: { run: { gpus: 1, maxAttempts: 2 } } },
    },
  ];
  for (const t of tasks) {
    if (t.acceptance) docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${t.name}-acceptance` }, data: { 'test_hidden.py': 'def test_hidden():\n    pass\n' } });
    docs.push({
      apiVersion: 'autorun.dev/v1alpha1',
      kind: 'CodingTask',
      metadata: { name: t.name },
      spec: {
        goal: 'Implement fizzbuzz(n) in fizzbuzz.py.',
        language: 'python',
        ...(t.priority !== undefined ? { priority: t.priority } : {}),
        test: { command: 'pytest -q', ...(t.acceptance ? { acceptance: { configMapRef: { name: `${t.name}-acceptance` } } } : {}) },
        limits: { maxIterations: t.maxIterations ?? 5, maxCostUSD: t.maxCostUSD ?? '5', timeout: '2h' },
      },
    });
  }
  return docs.map((d) => JSON.stringify(d, null, 2)).join('\n---\n') + '\n';
}

class LocalTier implements Tier {
  readonly dir: string;
  private readonly tasks: TaskDef[] = [];
  private run: { child: ReturnType<typeof startCli>['child']; done: Promise<CliRun> } | undefined;
  readonly runs: CliRun[] = [];

  constructor(
    private readonly sc: Scenario,
    private readonly env: NodeJS.ProcessEnv,
    private readonly slack?: FakeSlack,
  ) {
    this.dir = scratch('').dir;
  }

  async apply(tasks: TaskDef[]): Promise<void> {
    // The local tier takes its tasks from files: more tasks are another run with more of them,
    // after the one running now is stopped as a person stops it (Ctrl-C), state kept.
    if (this.run) {
      this.run.child.kill('SIGINT');
      const r = await this.run.done;
      this.runs.push(r);
      if (r.code !== 130) throw new Error(`autorun run exited ${r.code} on Ctrl-C: ${r.stdout}${r.stderr}`);
    }
    this.tasks.push(...tasks);
    writeFileSync(join(this.dir, 'tasks.yaml'), manifest(this.sc, this.tasks));
    this.run = startCli(['run', 'tasks.yaml', '--agent-command', `${process.execPath} ${AGENT}`], this.dir, this.env);
  }

  async finish(): Promise<CliRun> {
    const r = await this.run!.done;
    this.runs.push(r);
    return r;
  }

  async setSuspend(task: string, suspend: boolean): Promise<void> {
    const ts = await until(`${task}'s Slack thread`, async () => this.state(task)?.slack?.ts);
    const action = suspend ? 'autorun_suspend' : 'autorun_resume';
    await this.slack!.deliver('interactive', {
      type: 'block_actions',
      user: { id: 'UALICE', username: 'alice', name: 'alice', team_id: 'T1' },
      api_app_id: 'A0AUTORUN',
      token: 'verification-token',
      container: { type: 'message', message_ts: ts, channel_id: CHANNEL, is_ephemeral: false },
      trigger_id: `trigger-${action}`,
      team: { id: 'T1', domain: 'acme' },
      channel: { id: CHANNEL, name: 'autorun' },
      message: { ts, text: '' },
      response_url: 'http://127.0.0.1:9/unused',
      actions: [{ type: 'button', action_id: action, block_id: 'autorun_controls', value: `default/${task}`, text: { type: 'plain_text', text: action }, action_ts: '1' }],
    });
    await until(`${task} ${suspend ? 'suspended' : 'resumed'}`, async () => (this.state(task)?.task.spec.suspend ?? false) === suspend);
  }

  private state(task: string): { status: CodingTaskStatus; slack?: { ts: string }; task: { spec: { suspend?: boolean } } } | undefined {
    const f = join(this.dir, '.autorun', 'state', `${task}.json`);
    return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined;
  }

  async status(task: string): Promise<CodingTaskStatus> {
    return this.state(task)?.status ?? {};
  }

  /** The phases a task's rows showed, over every run, in order. */
  phases(task: string): string[] {
    const out: string[] = [];
    for (const r of this.runs) {
      for (const line of r.stdout.split('\n')) {
        const cols = line.trim().split(/\s+/);
        if (cols[0] === task && cols.length >= 6) seen(out, cols[1]);
      }
    }
    return out;
  }
}

describe.each(SCENARIOS.map((s) => [s.name, s] as const))('the local tier: %s', (_name, sc) => {
  test('the phases, reasons, stages and cost of the table', async () => {
    const { server, url } = await answerStages(sc);
    const slack = sc.name.startsWith('suspend') ? new FakeSlack() : undefined;
    const slackUrl = await slack?.start();
    const env = cliEnv('http://127.0.0.1:9', {
      CONFORMANCE_URL: url,
      ...(slack
        ? {
            SLACK_BOT_TOKEN: slack.validToken,
            SLACK_APP_TOKEN: slack.validAppToken,
            SLACK_CHANNEL: CHANNEL,
            SLACK_API_URL: slackUrl,
            SLACK_RETRIES: '1',
            SLACK_ACCESS: JSON.stringify({ users: { UALICE: ['default'] } }),
          }
        : {}),
    });
    const tier = new LocalTier(sc, env, slack);
    try {
      await tier.apply(sc.tasks);
      await sc.drive?.(tier);
      const r = await tier.finish();
      const statuses: Record<string, CodingTaskStatus> = {};
      for (const name of Object.keys(sc.expect)) statuses[name] = await tier.status(name);
      const got = Object.fromEntries(Object.keys(sc.expect).map((n) => [n, observed({ phases: tier.phases(n), status: statuses[n]! })]));
      expect({ got, exit: r.code }).toEqual({ got: sc.expect, exit: Object.values(sc.expect).every((e) => e.phases.at(-1) === 'Succeeded') ? 0 : 1 });
      if (sc.startOrder) expect(startOrder(statuses)).toEqual(sc.startOrder);
    } finally {
      server.close();
      await slack?.stop();
      rmSync(tier.dir, { recursive: true, force: true });
    }
  }, 300_000);
});
