// The agent of a conformance stage in the local tier (`autorun run --agent-command`): it asks the
// test what this stage answers (scenarios.ts, served by local.test.ts) and writes that StageResult
// where the real agent would, or exits with the scenario's code without one. The operator's side
// of the suite finishes its Pods with the same answers.
import { writeFileSync } from 'node:fs';

const env = process.env;
const stage = { task: env.AUTORUN_TASK, role: env.AUTORUN_ROLE, iteration: Number(env.AUTORUN_ITERATION), attempt: Number(env.AUTORUN_ATTEMPT ?? '0') };
const res = await fetch(env.CONFORMANCE_URL, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stage) });
if (!res.ok) {
  process.stderr.write(`the conformance test answered ${res.status}: ${await res.text()}\n`);
  process.exit(70);
}
const ending = await res.json();
if ('crash' in ending) process.exit(ending.crash);
writeFileSync(env.AUTORUN_TERMINATION_PATH, JSON.stringify(ending.result));
