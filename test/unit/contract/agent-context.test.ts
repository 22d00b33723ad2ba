// One AgentContext for both shells: the Pod's env and the local stage's env read back the same
// context but for where things are.
import { contextFromEnv } from '../../../operator/src/agent/context.js';
import type { AgentContext } from '../../../operator/src/api/agent-context.js';
import type { V1Pod } from '@kubernetes/client-node';
import { buildStagePod } from '../../../operator/src/controller/pods/build.js';
import { stageName } from '../../../operator/src/core/names.js';
import type { StageContext, StageKey } from '../../../operator/src/core/types.js';
import { stageEnv } from '../../../operator/src/local/stage-env.js';
import { StateDir } from '../../../operator/src/local/state.js';
import { pool, task } from '../controller/pods/fixtures.js';

function podContext(pod: V1Pod): AgentContext {
  const env = Object.fromEntries((pod.spec!.containers[0]!.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  return contextFromEnv(env);
}

function both(key: StageKey, context: StageContext, reportConfigMap?: string): { pod: AgentContext; local: AgentContext } {
  const t = task();
  const p = pool();
  const name = stageName('fizzbuzz', key);
  const files = new StateDir('/state').stageFiles('fizzbuzz', name);
  const pod = podContext(buildStagePod({ task: t, pool: p, key, name, context, reportConfigMap }));
  const local = contextFromEnv(
    stageEnv({ task: t, pool: p, key, context, files, repositoryUrl: t.spec.repository!.url, marker: 'm', failureReportPath: '/state/report.json', acceptanceDir: '/state/acceptance' }, {}),
  );
  return { pod, local };
}

/** What may differ: the places, which each shell has its own of. */
function withoutPlaces(c: AgentContext): unknown {
  const { workspace: _w, terminationPath: _t, reportPath: _r, failureReportPath, ...rest } = c;
  return { ...rest, hasFailureReport: failureReportPath !== undefined, test: { ...rest.test, acceptanceDir: rest.test.acceptanceDir !== undefined } };
}

test.each<[string, StageKey, StageContext, string | undefined]>([
  ['code', { iteration: 1, role: 'code', attempt: 0 }, { budgetUSD: 2.5 }, undefined],
  ['test', { iteration: 1, role: 'test', attempt: 1 }, { budgetUSD: 1.25 }, undefined],
  ['test revising flagged tests, with the report', { iteration: 2, role: 'test', attempt: 0 }, { budgetUSD: 1.25, testsRef: 't', flaggedTests: ['t1'] }, 'fizzbuzz-report-2'],
  ['run', { iteration: 2, role: 'run', attempt: 0 }, { codeRef: 'c', testsRef: 't' }, undefined],
  ['repair with a report', { iteration: 2, role: 'repair', attempt: 0 }, { failing: ['t1'], budgetUSD: 1, guidance: ['look at 15'] }, 'fizzbuzz-report-2'],
  ['repair after hidden tests', { iteration: 3, role: 'repair', attempt: 0 }, { hiddenFailures: { failed: 2, hint: 'edge cases' }, budgetUSD: 1 }, undefined],
  ['acceptance', { iteration: 2, role: 'acceptance', attempt: 0 }, { codeRef: 'c', testsRef: 't' }, undefined],
])('%s: the Pod and the local stage get the same context', (_, key, context, report) => {
  const { pod, local } = both(key, context, report);
  expect(withoutPlaces(local)).toEqual(withoutPlaces(pod));
});

test('run and acceptance stages get no goal, engine or model settings in either shell', () => {
  const { pod, local } = both({ iteration: 1, role: 'run', attempt: 0 }, {});
  for (const c of [pod, local]) {
    // completeContext fills defaults; what matters is that no goal or budget was handed over.
    expect(c.goal).toBe('');
    expect(c.model.budgetUSD).toBeUndefined();
  }
});

test('the budget is the core\'s, in both shells', () => {
  const { pod, local } = both({ iteration: 1, role: 'code', attempt: 0 }, { budgetUSD: 0.37 });
  expect(pod.model.budgetUSD).toBe(0.37);
  expect(local.model.budgetUSD).toBe(0.37);
});

test('repair after hidden tests failed: no failure report in either shell', () => {
  const { pod, local } = both({ iteration: 3, role: 'repair', attempt: 0 }, { hiddenFailures: { failed: 1 } });
  expect(pod.failureReportPath).toBeUndefined();
  expect(local.failureReportPath).toBeUndefined();
  expect(local.hiddenFailed).toBe(1);
});

test('the report goes to repair and to a flagged-test revision only, in both shells', () => {
  expect(both({ iteration: 2, role: 'test', attempt: 0 }, { flaggedTests: ['t1'] }, 'fizzbuzz-report-2').local.failureReportPath).toBe('/state/report.json');
  expect(both({ iteration: 2, role: 'test', attempt: 0 }, { flaggedTests: ['t1'] }, 'fizzbuzz-report-2').pod.failureReportPath).toBeDefined();
  for (const [key, context] of [
    [{ iteration: 1, role: 'test', attempt: 0 }, {}],
    [{ iteration: 1, role: 'code', attempt: 0 }, {}],
    [{ iteration: 2, role: 'test', attempt: 0 }, { flaggedTests: ['t1'], hiddenFailures: { failed: 1 } }],
  ] as [StageKey, StageContext][]) {
    expect(both(key, context).local.failureReportPath).toBeUndefined();
  }
});
