// The real model, end to end: `autorun run manifests/examples/local/fizzbuzz.yaml` in a scratch
// directory with no API key anywhere, so the built-in pool runs the local engine (Qwen2.5-Coder-1.5B,
// GGUF, in-process on the CPU, fetched into ~/.cache/autorun/models by `make model`). Real git, real
// pytest, a real model: the task must succeed, and the code it leaves on its branch must be right by
// a check the agents never saw.
// Repeatable by construction, not by luck: greedy decoding (temperature 0), a fixed context size and
// one llama.cpp thread; command output reaches the model without wall times or the scratch path
// (steady-output.ts); and the parallel code and test stages take turns on the model (one context
// per machine, slots.ts), so the path of a run is the same each time and only its speed varies.
// One thread, not two: llama.cpp's threads spin at a barrier after each step, and on cores shared
// with anything else (another session, jest) two threads measured 4x slower than one.
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cachedPath } from '../../operator/src/agent/local-model/store.js';
import { catalogModel, DEFAULT_LOCAL_MODEL } from '../../operator/src/agent/local-model/catalog.js';
import { LOCAL_SLOTS_DIR_ENV } from '../../operator/src/agent/local-model/slots.js';
import { build, cliEnv, git, lines, readState, REPO_ROOT, runCli, scratch } from '../e2e/local/helpers.js';

beforeAll(() => build(), 120_000);

const EXAMPLE = join(REPO_ROOT, 'manifests', 'examples', 'local', 'fizzbuzz.yaml');
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('with no key, the local model solves fizzbuzz through autorun run', async () => {
  const model = catalogModel(DEFAULT_LOCAL_MODEL)!;
  // `make test` fetches it (make model); a missing model would be fetched by `autorun run` itself.
  expect(existsSync(cachedPath(model))).toBe(true);
  const w = scratch('');
  dir = w.dir;
  copyFileSync(EXAMPLE, join(dir, 'fizzbuzz.yaml'));
  // Slots of its own: another local-engine process on the machine (a bench run beside CI) holds the
  // machine-wide slot, and then both stages waited for it, not one for the other.
  const env = cliEnv(undefined, { AUTORUN_LOCAL_THREADS: '1', [LOCAL_SLOTS_DIR_ENV]: join(dir, 'model-slots') });
  expect(Object.keys(env).filter((k) => /^(ANTHROPIC_|OPENAI_)/.test(k))).toEqual([]);

  const r = await runCli(['run', 'fizzbuzz.yaml'], dir, env);
  expect(r.stdout).toContain(`pool default uses the local engine: model ${DEFAULT_LOCAL_MODEL}, run in-process on this machine's CPU, no server and no key`);
  const state = readState(dir, 'fizzbuzz');
  expect({ code: r.code, phase: state.status.phase, stages: state.stages.map((s) => `${s.name}:${s.result?.outcome}`) }).toMatchObject({ code: 0, phase: 'Succeeded' });

  // The code and test stages started together and took turns on the model: one waited for the other.
  const stages = join(dir, '.autorun', 'fizzbuzz', 'stages');
  const events = (stage: string) => lines(join(stages, stage, 'transcript.log')).map((l) => JSON.parse(l).event as string);
  const waited = ['fizzbuzz-i1-code-a0', 'fizzbuzz-i1-test-a0'].filter((s) => events(s).includes('model-slot-wait'));
  expect(waited).toHaveLength(1);

  // The implementation on the task branch, judged by values the goal states and the agents never saw.
  const repo = join(dir, '.autorun', 'fizzbuzz', 'repo');
  const work = join(dir, 'check');
  git(dir, 'clone', '--quiet', '--branch', 'autorun/fizzbuzz', repo, work);
  const check = spawnSync(
    'python3',
    ['-c', 'from fizzbuzz import fizzbuzz\nassert [fizzbuzz(n) for n in (1, 3, 5, 7, 15, 30, 98)] == ["1", "Fizz", "Buzz", "7", "FizzBuzz", "FizzBuzz", "98"]\ntry:\n    fizzbuzz(0)\nexcept ValueError:\n    print("ok")'],
    { cwd: work, encoding: 'utf8' },
  );
  expect({ status: check.status, stdout: check.stdout.trim(), stderr: check.stderr }).toEqual({ status: 0, stdout: 'ok', stderr: '' });
}, 3_600_000);
