// The failure report a repair Pod mounts: a ConfigMap per task and iteration, owned by the task,
// holding the log of the failed run the contract picks (contract/repair-input.ts). The run agent
// prints its report to its log; the log of an acceptance run is never copied, since the agents must
// not see the hidden tests.
import type { V1Pod } from '@kubernetes/client-node';
import type { CodingTask } from '../api/types.js';
import { failedRunForRepair, reportMayBeShown } from '../contract/repair-input.js';
import type { ObservedStage } from '../core/types.js';
import { errText } from './informer.js';
import type { KubeApi } from './kube.js';
import { isControlledBy } from './pods/owner.js';
import { buildReportConfigMap } from './pods/report.js';

export type ReportApi = Pick<KubeApi, 'podLog' | 'createConfigMap' | 'readConfigMap' | 'deleteConfigMap'>;

/** The report's text: the failed run's log (at most limitBytes), or why there is none. */
async function reportText(api: ReportApi, namespace: string, observed: readonly ObservedStage[], podsByName: Map<string, V1Pod>, limitBytes: number): Promise<string> {
  const last = failedRunForRepair(observed);
  if (!last) return 'No failed test run was found for this task; work from the failing test names you were given.';
  // Not reached while the core withholds the report after acceptance; kept nameless all the same.
  if (!reportMayBeShown(last)) return `The hidden acceptance tests failed (${last.result?.tests?.failed ?? 0} failing). Nothing of them is shown to agents.`;
  const container = podsByName.get(last.name)?.spec?.containers?.[0]?.name;
  try {
    return await api.podLog(namespace, last.name, container, limitBytes);
  } catch (err) {
    return `The log of ${last.name} could not be read (${errText(err)}). Failing tests: ${(last.result?.tests?.failing ?? []).join(', ')}`;
  }
}

/** Makes sure the task's report ConfigMap for this iteration exists and is the task's own. */
export async function ensureRepairReport(
  api: ReportApi,
  task: CodingTask,
  iteration: number,
  observed: readonly ObservedStage[],
  podsByName: Map<string, V1Pod>,
  key: string,
  limitBytes = 256 * 1024,
): Promise<void> {
  const namespace = task.metadata.namespace!;
  const cm = buildReportConfigMap(task, iteration, await reportText(api, namespace, observed, podsByName, limitBytes));
  if ((await api.createConfigMap(namespace, cm, key)) === 'created') return;
  const existing = await api.readConfigMap(namespace, cm.metadata!.name!);
  if (isControlledBy(existing, task.metadata.uid)) return;
  // An earlier task's report must not reach this task's repair agent.
  await api.deleteConfigMap(namespace, cm.metadata!.name!, key);
  if ((await api.createConfigMap(namespace, cm, key)) !== 'created') throw new Error(`report ConfigMap ${namespace}/${cm.metadata!.name} is still held by an earlier task of this name`);
}
