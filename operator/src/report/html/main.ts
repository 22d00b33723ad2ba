// `autorun report TASK`: one self-contained HTML page about a task, from the CodingTask in the cluster
// (kubeconfig as kubectl finds it) or from a local run's state directory (--state-dir).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CodingTask } from '../../api/types.js';
import { StateDir } from '../../local/state.js';
import { buildReport, repairedRuns } from './model.js';
import { renderReport } from './render.js';

const USAGE = `usage: autorun report TASK [--state-dir DIR | --namespace NS] [--kubeconfig FILE] [-o FILE]

Writes an HTML page about the task (a timeline of its stages, tests per iteration, cost by stage and
role, the failure each repair got, the result branch) that needs nothing else to open.
  --state-dir DIR     a local run's state directory (as \`autorun run --state-dir\`)
  --namespace NS      the task's namespace in the cluster (default: the kubeconfig context's, else default)
  --kubeconfig FILE   default: KUBECONFIG, ~/.kube/config, or the in-cluster service account
  -o, --output FILE   default: TASK-report.html; - for stdout
`;

function fromStateDir(dir: string, name: string): { task: CodingTask; inputs: Map<number, string>; origin: string } {
  const state = new StateDir(dir);
  const s = state.load(name);
  if (!s) {
    const known = state.loadAll().map((t) => t.task.metadata.name);
    throw new Error(`no task ${name} in ${state.stateDir}${known.length ? ` (it has: ${known.join(', ')})` : ''}`);
  }
  const inputs = new Map<number, string>();
  for (const [iteration, run] of repairedRuns(s.status.stages ?? [])) {
    const file = state.stageFiles(name, run.name).report;
    if (existsSync(file)) inputs.set(iteration, readFileSync(file, 'utf8'));
  }
  return { task: { ...s.task, status: s.status }, inputs, origin: `local run, state dir ${dir}` };
}

async function fromCluster(name: string, namespace: string | undefined, kubeconfig: string | undefined): Promise<{ task: CodingTask; inputs: Map<number, string>; origin: string }> {
  // Loaded only for this tier: the local one should not pay for client-node.
  const k8s = await import('@kubernetes/client-node');
  const { GROUP, VERSION } = await import('../../api/types.js');
  const { REPORT_KEY, reportConfigMapName } = await import('../../controller/pods/report.js');
  const kc = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  const ns = namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let task: CodingTask;
  try {
    task = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'codingtasks', namespace: ns, name })) as CodingTask;
  } catch (err) {
    const code = (err as { code?: number }).code;
    throw new Error(code === 404 ? `no CodingTask ${name} in namespace ${ns}` : `reading CodingTask ${ns}/${name}: ${(err as Error).message}`);
  }
  const inputs = new Map<number, string>();
  for (const iteration of repairedRuns(task.status?.stages ?? []).keys()) {
    try {
      const cm = await core.readNamespacedConfigMap({ namespace: ns, name: reportConfigMapName(name, iteration) });
      const text = cm.data?.[REPORT_KEY];
      if (text !== undefined) inputs.set(iteration, text);
    } catch {
      // Gone with its task's garbage, or not readable: the report shows the failing names from status.
    }
  }
  return { task, inputs, origin: `namespace ${ns}` };
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = (args: string[]) =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { 'state-dir': { type: 'string' }, namespace: { type: 'string', short: 'n' }, kubeconfig: { type: 'string' }, output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    });
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`autorun report: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`autorun report: name one task\n${USAGE}`);
    return 2;
  }
  if (values['state-dir'] && values.namespace) {
    process.stderr.write('autorun report: --state-dir (a local run) and --namespace (the cluster) exclude each other\n');
    return 2;
  }
  const name = positionals[0]!;
  try {
    const src = values['state-dir'] ? fromStateDir(values['state-dir'], name) : await fromCluster(name, values.namespace, values.kubeconfig);
    const html = renderReport(buildReport({ task: src.task, origin: src.origin, repairInputs: src.inputs, now: new Date() }));
    const out = values.output ?? `${name}-report.html`;
    if (out === '-') process.stdout.write(html);
    else {
      writeFileSync(out, html);
      process.stderr.write(`wrote ${out}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`autorun report: ${(err as Error).message}\n`);
    return 1;
  }
}
