// `autorun run` holds the model key (it is in its environment, as a user exports it) and so do the
// code and repair agents it starts; generated code must reach it from nowhere. The code and repair
// agents' commands and a generated test the run stage executes hunt for it (the ancestors'
// /proc/<pid>/environ up to `autorun run`, /proc/1, every /proc/*/environ, env, the home directory
// with the key in ~/.bashrc), and the key's bytes must be in no request the fake model server
// received, nothing autorun printed, and no file under .autorun (state and status, events,
// transcripts, results, failure reports).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { messagesText, startFakeAnthropic, text, toolUse, type FakeAnthropic, type FakeReply, type RecordedRequest } from '../../fakes/anthropic-server.js';
import { pythonKeyHunt, shellKeyHunt } from '../../fixtures/key-hunt.js';
import { build, cliEnv, CORRECT, readState, reportSection, roleOf, runCli, scratch, taskYaml, testsFile } from './helpers.js';

beforeAll(() => build(), 120_000);

let fake: FakeAnthropic | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const ATTACK = shellKeyHunt();
const HUNT = `\n${pythonKeyHunt()}`;

function assistantTurns(req: RecordedRequest): number {
  return req.body.messages.filter((m) => m.role === 'assistant').length;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('no command, no generated test reaches the key autorun run and its agents hold', async () => {
  const key = `sk-ant-local-isolation-${randomBytes(12).toString('hex')}`;
  let repairs = 0;
  const script = (req: RecordedRequest): FakeReply => {
    const role = roleOf(req);
    const turn = assistantTurns(req);
    if (role === 'test') return turn === 0 ? toolUse('write_file', { path: 'tests/test_fizzbuzz.py', content: testsFile() + HUNT }) : text('Tests written.');
    if (turn === 0) return toolUse('run_command', { command: ATTACK });
    if (turn === 1) return toolUse('write_file', { path: 'fizzbuzz.py', content: `${CORRECT}# ${role} ${role === 'repair' ? ++repairs : 0}\n` });
    return text(`The ${role} work is done.`);
  };
  fake = await startFakeAnthropic(script);
  const w = scratch(taskYaml('hunted', '  limits:\n    maxIterations: 2\n'));
  dirs.push(w.dir);
  const home = join(w.dir, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.bashrc'), `export ANTHROPIC_API_KEY=${key}\n`);
  const r = await runCli(['run', 'task.yaml'], w.dir, cliEnv(fake.url, { ANTHROPIC_API_KEY: key, HOME: home }));
  // The hunting test always fails: a repair, then MaxIterations.
  expect(readState(w.dir, 'hunted').status).toMatchObject({ phase: 'Failed', reason: 'MaxIterations' });
  expect(r.code).toBe(1);
  expect(fake.requests.every((q) => q.headers['x-api-key'] === key || q.headers.authorization === `Bearer ${key}`)).toBe(true);

  // The hunts ran and their output reached the model: the commands' in the next request, the
  // test's in the repair prompt (the failure report).
  const commandOutputs = fake.requests.filter((q) => assistantTurns(q) === 1 && roleOf(q) !== 'test').map((q) => JSON.stringify(q.body.messages.at(-1)!.content));
  expect(commandOutputs).toHaveLength(2);
  for (const o of commandOutputs) expect(o).toMatch(/DUMP-BEGIN.*PATH=.*DUMP-END/);
  const repairPrompt = fake.requests.find((q) => roleOf(q) === 'repair' && assistantTurns(q) === 0)!;
  expect(reportSection(messagesText(repairPrompt))).toMatch(/DUMP-BEGIN[\s\S]*DUMP-END/);

  const sent = JSON.stringify(fake.requests.map((q) => q.body));
  expect(sent).not.toContain(key);
  expect(r.stdout + r.stderr).not.toContain(key);
  const recorded = files(join(w.dir, '.autorun')).filter((f) => !f.includes(`${join('hunted', 'repo')}`));
  expect(recorded.map((f) => f.replace(w.dir, ''))).toEqual(expect.arrayContaining([expect.stringMatching(/state\/hunted\.json$/), expect.stringMatching(/events\.log$/), expect.stringMatching(/failure-report\.json$/), expect.stringMatching(/transcript\.log$/)]));
  for (const f of recorded) expect([f, readFileSync(f, 'latin1').includes(key)]).toEqual([f, false]);
}, 240_000);

test("a .git/config a command writes never runs in the agent's git (its repository is outside the workspace)", async () => {
  const key = `sk-ant-local-gitconfig-${randomBytes(12).toString('hex')}`;
  const w = scratch(taskYaml('planted', ''));
  dirs.push(w.dir);
  // Outside the sandbox's writable paths: only something running outside the sandbox can write it.
  const leak = join(w.dir, 'leak.txt');
  // A clean filter for every file: the agent's `git add` would run it, outside the sandbox, with the
  // agent's environment (the key). In the workspace's own .git when there is one, else a planted one.
  const plant = [
    `printf 'env > ${leak}\\ncat\\n' > pwn.sh`,
    `(git config filter.pwn.clean 'sh pwn.sh' 2>/dev/null || (mkdir -p .git && printf '[filter "pwn"]\\n\\tclean = sh pwn.sh\\n' >> .git/config))`,
    `echo '* filter=pwn' > .gitattributes`,
    'echo planted',
  ].join(' && ');
  const script = (req: RecordedRequest): FakeReply => {
    const role = roleOf(req);
    const turn = assistantTurns(req);
    if (role === 'test') return turn === 0 ? toolUse('write_file', { path: 'tests/test_fizzbuzz.py', content: testsFile() }) : text('Tests written.');
    if (turn === 0) return toolUse('run_command', { command: plant });
    if (turn === 1) return toolUse('write_file', { path: 'fizzbuzz.py', content: CORRECT });
    return text('Done.');
  };
  fake = await startFakeAnthropic(script);
  const r = await runCli(['run', 'task.yaml'], w.dir, cliEnv(fake.url, { ANTHROPIC_API_KEY: key }));
  const planted = fake.requests.find((q) => roleOf(q) === 'code' && assistantTurns(q) === 1)!;
  expect(JSON.stringify(planted.body.messages.at(-1)!.content)).toContain('planted');
  expect(readState(w.dir, 'planted').status).toMatchObject({ phase: 'Succeeded' });
  expect(r.code).toBe(0);
  expect(existsSync(leak)).toBe(false);
}, 240_000);
