// The operator's /metrics as Prometheus sees it, from the real operator on the real apiserver after
// it ran tasks that pass, repair, retry a stage and fail on a model error: promtool's `check
// metrics` finds nothing to lint; the figures agree with what the tasks did; every query of the
// chart's Grafana dashboard reads only metrics that are really exported, and parses as PromQL; and
// the chart's ServiceMonitor, PodMonitoring and dashboard ConfigMap are accepted by an apiserver
// that has the prometheus-operator and GKE Managed Prometheus CRDs (their upstream YAMLs, in crds/).
import { jest } from '@jest/globals';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../../harness/kube.js';
import { kubectl, kubectlOk } from '../../harness/kubectl.js';
import { repoRoot, tool } from '../../harness/tools.js';
import { createPool, createTask, failingRun, success, TestBed, waitForPhase, type Script } from '../controller/support.js';
import { dashboardExpressions, metricNames, withGrafanaVariables } from './promql.js';

jest.setTimeout(300_000);

const run = promisify(execFile);
const root = repoRoot();
const scripts = new Map<string, Script>();
let bed: TestBed;
let exposition = '';

/** promtool from hack/build-promtool.sh (the Makefile exports AUTORUN_PROMTOOL; built here otherwise). */
function promtool(): string {
  if (!process.env.AUTORUN_PROMTOOL) {
    process.env.AUTORUN_PROMTOOL = execFileSync(join(root, 'hack', 'build-promtool.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  }
  return process.env.AUTORUN_PROMTOOL;
}

function promtoolWithInput(args: string[], input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
    child.stdin.end(input);
  });
}

async function helm(args: string[]): Promise<string> {
  const env = { ...process.env, HELM_CACHE_HOME: '/tmp/autorun-helm-cache', HELM_CONFIG_HOME: '/tmp/autorun-helm-config' };
  return (await run(tool('helm'), args, { env, maxBuffer: 16 << 20 })).stdout;
}

/** The sum of the samples of `name` whose labels include `labels`. */
function sample(name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

beforeAll(async () => {
  promtool();
  bed = await TestBed.create('mon', scripts);
  await bed.gpuNodes(2);
  await createPool(bed.ns, { isolationPrefix: bed.ns, gpuLimit: 2, runMaxAttempts: 2 });
  scripts.set('green', (s) => ({ result: success(s, 0.02) }));
  scripts.set('repaired', (s) => (s.role === 'run' && s.iteration === 1 ? { result: failingRun(s, ['test_fizz']) } : { result: success(s, 0.02) }));
  // The first run Pod is OOMKilled: a retry (attempt 1) whose reason is OOMKilled.
  scripts.set('retried', (s) => (s.role === 'run' && s.attempt === 0 ? { oom: true } : { result: success(s, 0.02) }));
  // The code agent's model refuses the key: the stage ends Error/Unauthorized and the task Failed.
  scripts.set('unauthorized', (s) =>
    s.role === 'code' ? { result: { role: 'code', outcome: 'Error', reason: 'Unauthorized', summary: 'the model API answered 401' } } : { result: success(s, 0.02) },
  );
  await bed.startAgents();
  const operator = await bed.startOperator({ port: 0, processMetrics: true });
  for (const t of scripts.keys()) await createTask(bed.ns, t);
  for (const t of scripts.keys()) await waitForPhase(bed.ns, t, ['Succeeded', 'Failed'], 120_000);
  // The pool's status (which its gauges show) is written at most every few seconds: scrape until it
  // has caught up with the finished tasks.
  await eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${operator.port}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      exposition = await res.text();
      return sample('autorun_pool_tasks', { namespace: bed.ns, pool: 'default', state: 'active' }) === 0 && exposition.includes('autorun_pool_tasks{');
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
});

afterAll(() => bed?.tearDown());

test('promtool check metrics finds no problem in the real /metrics', async () => {
  const r = await promtoolWithInput(['check', 'metrics'], exposition);
  expect(r.out).toBe('');
  expect(r.code).toBe(0);
  // The check is live: a counter without _total is reported.
  const bad = await promtoolWithInput(['check', 'metrics'], '# HELP x_restarts Restarts.\n# TYPE x_restarts counter\nx_restarts 1\n');
  expect(bad.out).toMatch(/counter metrics should have "_total" suffix/);
});

test('the names Prometheus users expect: process_*, nodejs_*, informer restarts a counter, writes by HTTP status', () => {
  expect(exposition).toMatch(/^process_resident_memory_bytes \d/m);
  expect(exposition).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  expect(exposition).not.toMatch(/autorun_operator_/);
  expect(exposition).toMatch(/^# TYPE autorun_informer_restarts_total counter$/m);
  const codes = [...exposition.matchAll(/^autorun_api_writes_total\{[^}]*code="([^"]+)"/gm)].map((m) => m[1]);
  expect(codes.length).toBeGreaterThan(0);
  expect(codes.every((c) => /^\d{3}$/.test(c!) || c === '<error>')).toBe(true);
  expect(codes).toEqual(expect.arrayContaining(['201', '200']));
});

test('the task and stage series tell what the tasks did', () => {
  const p = { namespace: bed.ns, pool: 'default' };
  expect(sample('autorun_tasks_finished_total', { ...p, phase: 'Succeeded', reason: 'TestsPassed' })).toBe(3);
  expect(sample('autorun_tasks_finished_total', { ...p, phase: 'Failed' })).toBe(1);
  // Iterations to green: green 1, retried 1, repaired 2.
  expect(sample('autorun_task_iterations_count', p)).toBe(3);
  expect(sample('autorun_task_iterations_sum', p)).toBe(4);
  expect(sample('autorun_task_iterations_bucket', { ...p, le: '1' })).toBe(2);
  expect(sample('autorun_stage_retries_total', { ...p, role: 'run', reason: 'OOMKilled' })).toBe(1);
  expect(sample('autorun_stages_finished_total', { ...p, role: 'code', state: 'Error', reason: 'Unauthorized' })).toBe(1);
  expect(sample('autorun_task_queue_wait_seconds_count', p)).toBe(4);
  // Model cost: the one repair's 0.02.
  expect(sample('autorun_model_cost_usd_total', { ...p, role: 'repair' })).toBeCloseTo(0.02);
  expect(sample('autorun_pool_gpu_limit', p)).toBe(2);
  expect(sample('autorun_pool_tasks', { ...p, state: 'active' })).toBe(0);
});

test('every dashboard query reads only exported metrics and parses as PromQL', async () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'charts/autorun/dashboards/autorun.json'), 'utf8'));
  // Every family /metrics declares (a labelled counter with no sample yet is declared all the same),
  // with a histogram's _bucket, _sum and _count series.
  const exported = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exported.add(m[1]!);
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m[1]! + suffix);
  }
  const exprs = dashboardExpressions(dashboard);
  expect(exprs.length).toBeGreaterThan(20);
  const unknown = exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !exported.has(n)).map((n) => `${where}: ${n}`));
  expect(unknown).toEqual([]);
  // The check is live: a misspelt metric is found.
  expect(metricNames('sum by (pool) (rate(autorun_stage_retry_total{pool=~"$pool"}[$__rate_interval]))').filter((n) => !exported.has(n))).toEqual(['autorun_stage_retry_total']);
  // Every panel's query is valid PromQL (promtool's parser), with Grafana's variables filled in.
  for (const { where, expr } of exprs) {
    const r = await run(promtool(), ['promql', 'format', '--experimental', withGrafanaVariables(expr)]).catch((e: { stderr?: string }) => ({ stdout: '', stderr: e.stderr ?? String(e) }));
    expect(`${where}: ${r.stderr.trim()}`).toBe(`${where}: `);
  }
  // The sections the issue asks for.
  const titles = (dashboard.panels as Array<{ title: string }>).map((p) => p.title);
  for (const t of ['Tasks by phase', 'Success rate', 'Iterations to green', 'Cost per task', 'Cost per pool', 'GPU busy', 'Queue wait', 'Stage durations (p50, p90)', 'Model errors', 'Stage retries']) {
    expect(titles).toContain(t);
  }
});

test('the ServiceMonitor, PodMonitoring and dashboard ConfigMap apply to an apiserver with their CRDs', async () => {
  const crds = join(root, 'test/integration/monitoring/crds');
  for (const f of readdirSync(crds).filter((f) => f.endsWith('.yaml'))) await kubectlOk(['apply', '--server-side', '-f', join(crds, f)]);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com', 'crd/podmonitorings.monitoring.googleapis.com']);
  const rendered = await helm([
    'template', 'autorun', join(root, 'charts/autorun'), '-n', bed.ns,
    '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
    '--set', 'metrics.podMonitoring.enabled=true', '--set', 'dashboard.enabled=true',
    '--show-only', 'templates/monitoring.yaml', '--show-only', 'templates/dashboard.yaml', '--show-only', 'templates/service.yaml',
  ]);
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string> }).filter(Boolean);
  expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'PodMonitoring', 'Service', 'ServiceMonitor']);
  // Strict field validation: a field the CRD does not know is an error, not a silent prune.
  await kubectlOk(['apply', '-n', bed.ns, '--validate=strict', '-f', '-'], { input: rendered });
  const sm = JSON.parse(await kubectlOk(['get', '-n', bed.ns, 'servicemonitor/autorun-autorun', '-o', 'json']));
  expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', interval: '30s' });
  expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
  // The ServiceMonitor selects the chart's metrics Service by its labels.
  const svc = docs.find((d) => d.kind === 'Service')!;
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) expect(svc.metadata.labels?.[k]).toBe(v);
  const cm = docs.find((d) => d.kind === 'ConfigMap')!;
  expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
  expect(JSON.parse(cm.data!['autorun.json']!).uid).toBe('autorun-factory');
  // The CRDs' validation is live: an interval the ServiceMonitor schema does not allow is refused.
  const bad = rendered.replace(/interval: 30s\n(\s+)scrapeTimeout: 10s/, 'interval: thirty seconds\n$1scrapeTimeout: 10s');
  expect(bad).not.toBe(rendered);
  const r = await kubectl(['apply', '-n', bed.ns, '--validate=strict', '-f', '-'], { input: bad });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/spec\.endpoints\[0\]\.interval/);
});
