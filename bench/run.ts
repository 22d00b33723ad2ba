// `make bench`: the design's targets measured on the harness control plane with 16 fake L4 nodes
// and instant agents. The operator runs as its own process (the built `autorun operator`, as the
// ServiceAccount bound to its ClusterRole) so that its RSS is its own; agents are played in this
// process by the test driver, which finishes each stage Pod the moment it runs.
//
// Latencies come twice: for the batch (all tasks applied at once, so on a small machine they
// measure the apiserver's backlog as much as the operator) and one task at a time (the operator's
// own latency). Hand-offs are timed between two events of the agents' one watch stream (Pod seen
// finished → next Pod seen created). apply → first Pod counts only tasks admitted at once: a
// queued task waits for a slot by design.
//
//   BENCH_TASKS       tasks in the timed batch (default 40)
//   BENCH_RSS_TASKS   idle (suspended) tasks in the cache for the RSS figure (default 10,000, as the target)
//   BENCH_ONLY=memory only the RSS phase: the operator, its pool and the idle tasks (for measuring memory alone)
//   BENCH_PROBES      tasks applied one at a time after the batch (every fifth needs a repair), for the quiet figures (default 10)
//   BENCH_BURST_TASKS tasks (default 100) released at once by their pool appearing: the operator's Pod create rate
//   BENCH_GPU_TASKS, BENCH_RUN_SECONDS   the GPU phase: tasks (default 64) in a pool with twice as many task slots
//                     as GPUs, whose run stages hold their GPU this long (default 10); LLM stages stay instant
//   BENCH_GPU_SLOTS   that pool's task slots (default 32): with as many as tasks (e.g. 200), up to 184 wait for a GPU
//   BENCH_LOG_LEVEL, BENCH_LOG_FILE   the operator's log level, and a file to keep its whole log in
//   BENCH_OPERATOR_NODE_ARGS          node flags for the operator (default: the chart's nodeOptions and nodeArgs), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
//   BENCH_SETTLE_SECONDS              how long the idle operator is watched for its settled RSS (default 30)
//   BENCH_HEAP_SNAPSHOT               a directory: a heap snapshot of the operator holding the idle tasks is written
//                                     there (bench/heap-summary.ts reads it)
//   BENCH_HOLD_SECONDS                keep the operator running this long after the figures (to look at it: gdb, /proc)
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnosticReport, memoryFigures, smapsBreakdown } from './memory.js';
import { GROUP, VERSION } from '../operator/src/api/types.js';
import { startCluster } from '../test/harness/cluster.js';
import { kube } from '../test/harness/kube.js';
import { createL4Nodes } from '../test/harness/nodes.js';
import { cliPath, repoRoot } from '../test/harness/tools.js';
import { parse } from 'yaml';
import { Agents, createPool, createTask, deleteOperatorRbac, ensureCpuNodes, failingRun, operatorKubeConfig, percentile, success } from '../test/integration/controller/support.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 40);
const RSS_TASKS = Number(process.env.BENCH_RSS_TASKS ?? 10_000);
const MEMORY_ONLY = process.env.BENCH_ONLY === 'memory';
// The operator writes a diagnostic report (V8's heap by space) on SIGUSR2 and, with
// BENCH_HEAP_SNAPSHOT, a heap snapshot on SIGURG (ignored by default, so harmless when not set up).
const REPORT_DIR = mkdtempSync(join(tmpdir(), 'autorun-bench-report-'));
const SNAPSHOT_SIGNAL = 'SIGURG';
const PROBES = Number(process.env.BENCH_PROBES ?? 10);
const GPU_TASKS = Number(process.env.BENCH_GPU_TASKS ?? 64);
const GPU_SLOTS = Number(process.env.BENCH_GPU_SLOTS ?? 32);
const RUN_SECONDS = Number(process.env.BENCH_RUN_SECONDS ?? 10);
const BURST_TASKS = Number(process.env.BENCH_BURST_TASKS ?? 100);
const ns = 'bench';

/** Stage Pod finished → next Pod of the task created, both as the agents' watch saw them. */
function handoffsOf(agents: Agents, task: string): number[] {
  const stages = agents.stagesOf(task).sort((a, b) => agents.createdAt.get(a.name)! - agents.createdAt.get(b.name)!);
  const out: number[] = [];
  for (let i = 1; i < stages.length; i++) {
    const created = agents.createdAt.get(stages[i]!.name)!;
    const prev = stages.slice(0, i).map((s) => agents.finishSeenAt.get(s.name) ?? -Infinity).filter((f) => f <= created);
    if (prev.length) out.push(created - Math.max(...prev));
  }
  return out;
}

/** When each GPU Pod (run and acceptance: one GPU each) of the tasks named prefix* held its GPU, as +1/-1 edges in time order. */
function gpuEdges(agents: Agents, prefix: string): { at: number; d: 1 | -1 }[] {
  return [...agents.seen.values()]
    .filter((s) => s.task.startsWith(prefix) && (s.role === 'run' || s.role === 'acceptance'))
    .flatMap((s) => {
      const created = agents.createdAt.get(s.name)!;
      const finished = agents.finishSeenAt.get(s.name);
      return finished === undefined ? [{ at: created, d: 1 as const }] : [{ at: created, d: 1 as const }, { at: finished, d: -1 as const }];
    })
    .sort((a, b) => a.at - b.at || a.d - b.d);
}

/**
 * GPUs busy while tasks are queued: the GPU-seconds held by run and acceptance Pods (created →
 * seen finished) within the time some task waits in the queue (applied → its first Pod), over
 * gpus × that time. Twice: over the whole of that time, and from the moment the GPUs were first all
 * taken (before it, no task has reached a GPU stage yet: every admitted one is still in its
 * code and test stages, which hold no GPU).
 */
function gpuBusyWhileQueued(agents: Agents, prefix: string, tasks: Listed[], applied: Map<string, number>, gpus: number): { ratio: number; queuedSeconds: number; steadyRatio: number; steadySeconds: number } {
  const waits: [number, number][] = [];
  for (const t of tasks) {
    if (!t.status?.queuedAt) continue;
    const firsts = agents.stagesOf(t.metadata.name).map((s) => agents.createdAt.get(s.name)!);
    if (firsts.length) waits.push([applied.get(t.metadata.name)!, Math.min(...firsts)]);
  }
  // The union of the waits, as disjoint intervals.
  const union: [number, number][] = [];
  for (const [a, b] of waits.sort((x, y) => x[0] - y[0])) {
    const last = union.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else union.push([a, b]);
  }
  // GPUs held at each moment, as steps between the edges.
  const steps: { at: number; live: number }[] = [];
  let live = 0;
  for (const e of gpuEdges(agents, prefix)) steps.push({ at: e.at, live: (live += e.d) });
  const busyWithin = (window: [number, number][]) => {
    let ms = 0;
    steps.forEach((s, i) => {
      const end = steps[i + 1]?.at ?? s.at;
      for (const [a, b] of window) ms += s.live * Math.max(0, Math.min(end, b) - Math.max(s.at, a));
    });
    return ms;
  };
  const span = (window: [number, number][]) => window.reduce((n, [a, b]) => n + (b - a), 0);
  // The first moment every GPU was held.
  const fullAt = steps.find((s) => s.live >= gpus && s.at >= (union[0]?.[0] ?? Infinity))?.at ?? Infinity;
  const steady = union.map(([a, b]) => [Math.max(a, fullAt), b] as [number, number]).filter(([a, b]) => b > a);
  const ratio = (window: [number, number][]) => (span(window) ? +(busyWithin(window) / (gpus * span(window))).toFixed(3) : NaN);
  return { ratio: ratio(union), queuedSeconds: +(span(union) / 1000).toFixed(1), steadyRatio: ratio(steady), steadySeconds: +(span(steady) / 1000).toFixed(1) };
}

/**
 * A GPU going from one stage to the next: for each GPU Pod created while the pool's GPUs were all
 * taken just before (so it waited for one), the time since the GPU Pod that made room was seen
 * finished. GPU Pods are run and acceptance Pods, one GPU each.
 */
function gpuHandoffsOf(agents: Agents, prefix: string, gpus = 16): number[] {
  const out: number[] = [];
  let live = 0;
  let full = false;
  let freedAt: number | undefined;
  for (const e of gpuEdges(agents, prefix)) {
    if (e.d < 0) {
      if (live === gpus) {
        full = true;
        freedAt = e.at;
      }
    } else if (full && freedAt !== undefined) {
      out.push(e.at - freedAt);
      freedAt = undefined;
      full = false;
    }
    live += e.d;
  }
  return out;
}

type Listed = { metadata: { name: string }; status?: { phase?: string; reason?: string; queuedAt?: string } };

/** The bench namespace's tasks named prefix*, from the apiserver. */
async function listTasks(prefix: string): Promise<Listed[]> {
  const list = (await kube().custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks' })) as { items: Listed[] };
  return list.items.filter((t) => t.metadata.name.startsWith(prefix));
}

/** Waits for all n tasks named prefix* to finish; returns them. */
const allFinished = (prefix: string, n: number): Promise<Listed[]> =>
  until(`the ${prefix}* tasks finished`, async () => {
    const tasks = await listTasks(prefix);
    return tasks.filter((t) => t.status?.phase === 'Succeeded' || t.status?.phase === 'Failed').length === n && tasks;
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | false> | T | false, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Has the operator (started with --heapsnapshot-signal=SNAPSHOT_SIGNAL) write a heap snapshot into dir. */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, SNAPSHOT_SIGNAL);
  let size = -1;
  await until('heap snapshot written', () => {
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) return false;
    const now = statSync(join(dir, file)).size;
    const done = now > 0 && now === size;
    size = now;
    if (done) process.stderr.write(`heap snapshot: ${join(dir, file)}\n`);
    return done;
  });
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const sum = (m: Map<string, number>, prefix: string, filter = ''): number =>
  [...m].filter(([k]) => k.startsWith(prefix) && k.includes(filter)).reduce((a, [, v]) => a + v, 0);

async function rawPodCreateRate(n: number): Promise<number> {
  const { core } = kube();
  await core.createNamespace({ body: { metadata: { name: 'bench-raw' } } });
  await until('default ServiceAccount', async () => core.readNamespacedServiceAccount({ namespace: 'bench-raw', name: 'default' }).then(() => true, () => false));
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        await core.createNamespacedPod({ namespace: 'bench-raw', body: { metadata: { name: `raw-${i}` }, spec: { containers: [{ name: 'c', image: 'x' }], nodeSelector: { none: 'none' } } } });
      }
    }),
  );
  const rate = n / ((performance.now() - t0) / 1000);
  await core.deleteNamespace({ name: 'bench-raw' });
  return rate;
}

/** The burst phase (see its call): Pods created per second, and all the operator's writes per second. */
async function podCreateBurst(agents: Agents, port: number, tasks: number): Promise<{ podsPerSecond: number; writesPerSecond: number; pods: number }> {
  const burstNames = Array.from({ length: tasks }, (_, i) => `c-${i}`);
  await Promise.all(burstNames.map((n) => createTask(ns, n, { pool: 'burst' })));
  await until('burst tasks waiting for their pool', async () => (await listTasks('c-')).filter((t) => t.status?.reason === 'PoolMissing').length === tasks);
  const writesBefore = sum(await scrape(port), 'autorun_api_writes_total');
  const poolAt = Date.now();
  await createPool(ns, { name: 'burst', isolationPrefix: 'bench', maxConcurrentTasks: tasks, gpuLimit: 16 });
  const pods = await until('every burst Pod created', () => {
    const created = burstNames.flatMap((n) => agents.stagesOf(n));
    return created.length >= 2 * tasks && created;
  });
  const last = Math.max(...pods.map((s) => agents.createdAt.get(s.name)!));
  // Everything the operator wrote meanwhile (Pods, each task's status, Events), per second: the
  // share of the apiserver the Pods get is what is left of it.
  const writes = sum(await scrape(port), 'autorun_api_writes_total') - writesBefore;
  return { podsPerSecond: pods.length / ((last - poolAt) / 1000), writesPerSecond: writes / ((Date.now() - poolAt) / 1000), pods: pods.length };
}

async function main(): Promise<void> {
  const cluster = await startCluster({});
  process.env.KUBECONFIG = cluster.info.kubeconfig;
  process.env.AUTORUN_CLUSTER_INFO = cluster.infoFile;
  const { core } = kube();
  let operator: ReturnType<typeof spawn> | undefined;
  let agents: Agents | undefined;
  try {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await until('default ServiceAccount', async () => core.readNamespacedServiceAccount({ namespace: ns, name: 'default' }).then(() => true, () => false));
    await createL4Nodes({ count: 16, prefix: 'bench', isolate: true });
    await ensureCpuNodes();
    const { file } = await operatorKubeConfig(ns);
    await createPool(ns, { isolationPrefix: 'bench', maxConcurrentTasks: 16, gpuLimit: 16 });

    const applied = new Map<string, number>();
    agents = new Agents(ns, (s) => {
      // Every fifth task needs one repair round, so hand-offs include run → repair.
      if (s.role === 'run' && s.iteration === 1 && Number(s.task.split('-').at(-1)) % 5 === 0) return { result: failingRun(s, ['test_edge']) };
      // The burst phase's stages keep running: only how fast their Pods are created matters.
      if (s.task.startsWith('c-')) return { leave: true };
      // The GPU phase's run stages hold their GPU for a while; everything else is instant.
      if (s.task.startsWith('g-') && (s.role === 'run' || s.role === 'acceptance')) return { result: success(s), delayMs: RUN_SECONDS * 1000 };
      return { result: success(s) };
    });
    await agents.start();

    const cli = cliPath();
    // As the chart runs it: its NODE_OPTIONS (the V8 heap cap) and malloc settings unless the environment says otherwise.
    const chartValues = parse(readFileSync(join(repoRoot(), 'charts', 'autorun', 'values.yaml'), 'utf8')) as { nodeOptions?: string; nodeArgs?: string[]; mallocEnv?: Record<string, string> };
    const nodeArgs = (process.env.BENCH_OPERATOR_NODE_ARGS ?? [chartValues.nodeOptions ?? '', ...(chartValues.nodeArgs ?? [])].join(' ')).split(' ').filter(Boolean);
    const diagnostics = ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${REPORT_DIR}`, '--report-exclude-env', '--report-exclude-network'];
    const snapshotDir = process.env.BENCH_HEAP_SNAPSHOT;
    if (snapshotDir) diagnostics.push(`--heapsnapshot-signal=${SNAPSHOT_SIGNAL}`, `--diagnostic-dir=${snapshotDir}`);
    operator = spawn(process.execPath, [...nodeArgs, ...diagnostics, cli, 'operator', `--namespace=${ns}`, `--leader-election-namespace=${ns}`, '--port=0', '--identity=bench'], {
      // The chart's glibc malloc settings too, unless the environment sets its own.
      env: { ...chartValues.mallocEnv, ...process.env, KUBECONFIG: file, AUTORUN_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let port = 0;
    let errBuf = '';
    const logFile = process.env.BENCH_LOG_FILE;
    operator.stderr!.on('data', (d: Buffer) => {
      if (logFile) appendFileSync(logFile, d);
      errBuf += d.toString();
      for (const line of errBuf.split('\n').slice(0, -1)) {
        try {
          const j = JSON.parse(line) as { port?: number; level?: string; message?: string };
          if (j.message === 'operator running' && j.port) port = j.port;
          if (j.level === 'warn' || j.level === 'error') process.stderr.write(line + '\n');
        } catch {
          process.stderr.write(line + '\n');
        }
      }
      errBuf = errBuf.slice(errBuf.lastIndexOf('\n') + 1);
    });
    await until('operator ready', async () => {
      if (!port) return false;
      return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    });
    await until('leadership', async () => (await scrape(port)).get('autorun_leader') === 1);

    // The design's targets (all but memory): the batch, tasks one at a time, GPU contention, the Pod burst.
    let figures: Record<string, unknown> = {};
    let rssBatch: number | undefined;
    if (!MEMORY_ONLY) {
      const names = Array.from({ length: TASKS }, (_, i) => `b-${i}`);
      const t0 = Date.now();
      await Promise.all(
        names.map(async (n) => {
          applied.set(n, Date.now());
          await createTask(ns, n);
        }),
      );
      const finished = await allFinished('b-', TASKS);
      const wallS = (Date.now() - t0) / 1000;
      // Tasks the pool queued wait for a slot by design: apply → first Pod is the operator's latency
      // only for those it admitted at once.
      const queued = new Set(finished.filter((t) => t.status?.queuedAt).map((t) => t.metadata.name));

      const firstPod: number[] = [];
      const firstPodQueued: number[] = [];
      const handoffs: number[] = [];
      let iterations = 0;
      for (const n of names) {
        const stages = agents.stagesOf(n).sort((a, b) => agents!.createdAt.get(a.name)! - agents!.createdAt.get(b.name)!);
        if (stages[0]) (queued.has(n) ? firstPodQueued : firstPod).push(agents.createdAt.get(stages[0].name)! - applied.get(n)!);
        iterations += Math.max(...stages.map((s) => s.iteration));
        handoffs.push(...handoffsOf(agents, n));
      }
      const m = await scrape(port);
      const taskWrites = sum(m, 'autorun_api_writes_total', 'resource="pods"') + sum(m, 'autorun_api_writes_total', 'resource="codingtasks/status"') + sum(m, 'autorun_api_writes_total', 'resource="configmaps"');
      const eventWrites = sum(m, 'autorun_api_writes_total', 'resource="events"');
      const reconciles = sum(m, 'autorun_reconciles_total', 'kind="task"');
      rssBatch = rssMiB(operator.pid!);

      // The same figure on a quiet operator: one task at a time, each waiting for its first Pod.
      const probes: number[] = [];
      const probeHandoffs: number[] = [];
      for (let i = 0; i < PROBES; i++) {
        const n = `probe-${i}`;
        const at = Date.now();
        await createTask(ns, n);
        probes.push((await until(`first Pod of ${n}`, () => agents!.stagesOf(n).length > 0 && Math.min(...agents!.stagesOf(n).map((s) => agents!.createdAt.get(s.name)!)), 30_000)) - at);
        await until(`${n} finished`, async () => ['Succeeded', 'Failed'].includes((await kube().custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'codingtasks', name: n }) as Listed).status?.phase ?? ''), 60_000);
        probeHandoffs.push(...handoffsOf(agents, n));
      }

      // GPUs busy while work waits. The batch's pool has as many slots as GPUs, and its admitted
      // tasks spend most of their time in (GPU-less) LLM stages, so its GPUs idle by construction. A
      // pool meant to keep its GPUs busy admits more tasks than it has GPUs: their run stages then
      // wait for a GPU, and what this measures is how fast a freed GPU goes to the next one.
      await createPool(ns, { name: 'gpu', isolationPrefix: 'bench', maxConcurrentTasks: GPU_SLOTS, gpuLimit: 16 });
      const gpuNames = Array.from({ length: GPU_TASKS }, (_, i) => `g-${i}`);
      const gpuApplied = new Map<string, number>();
      const beforeGpu = await scrape(port);
      await Promise.all(
        gpuNames.map(async (n) => {
          gpuApplied.set(n, Date.now());
          await createTask(ns, n, { pool: 'gpu' });
        }),
      );
      const gpuFinished = await allFinished('g-', GPU_TASKS);
      const gpuBusy = gpuBusyWhileQueued(agents, 'g-', gpuFinished, gpuApplied, 16);
      const gpuHandoffs = gpuHandoffsOf(agents, 'g-');
      // Reconciles per task under GPU contention, against the task's phase transitions: a freed GPU
      // should wake the waiter it can serve, not every waiting task (design target: ≤ 3 × transitions).
      const afterGpu = await scrape(port);
      const delta = (name: string, labels?: string) => sum(afterGpu, name, labels) - sum(beforeGpu, name, labels);
      const gpuReconciles = delta('autorun_reconciles_total', 'kind="task"');
      const gpuTransitions = delta('autorun_task_phase_transitions_total');

      // Pod creation throughput: BURST_TASKS tasks wait for a pool that does not exist yet; when it
      // appears, with a slot for each, the operator must create a code and a test Pod for every one
      // of them at once. Compared below with the apiserver's own rate for plain Pod creates.
      const burst = BURST_TASKS > 0 ? await podCreateBurst(agents, port, BURST_TASKS) : undefined;
      if (logFile) {
        const timeline = [...agents.seen.values()].map((s) => ({ pod: s.name, role: s.role, created: agents!.createdAt.get(s.name), finished: agents!.finishSeenAt.get(s.name) }));
        writeFileSync(`${logFile}.stages.json`, JSON.stringify(timeline));
      }

      const raw = await rawPodCreateRate(300);
      const podsCreated = sum(m, 'autorun_api_writes_total', 'verb="create",resource="pods",code="201"');

      figures = {
        tasks: TASKS,
        wallSeconds: wallS,
        handoffMs: {
          batch: { p50: percentile(handoffs, 50), p99: percentile(handoffs, 99), n: handoffs.length },
          oneAtATime: { p50: percentile(probeHandoffs, 50), p99: percentile(probeHandoffs, 99), n: probeHandoffs.length },
          target: 'p99 ≤ 250',
        },
        applyToFirstPodMs: {
          admittedAtOnce: { p50: percentile(firstPod, 50), p99: percentile(firstPod, 99), n: firstPod.length },
          oneAtATime: { p50: percentile(probes, 50), p99: percentile(probes, 99), n: probes.length },
          queuedFirst: { p50: percentile(firstPodQueued, 50), n: firstPodQueued.length },
          target: 'p50 ≤ 100',
        },
        apiWritesPerIteration: { withoutEvents: +(taskWrites / iterations).toFixed(2), events: +(eventWrites / iterations).toFixed(2), target: '≤ 6' },
        reconcilesPerTask: +(reconciles / TASKS).toFixed(2),
        // Status is written on the loop's transitions, not on every stage going Pending → Running or
        // finishing beside a partner that still runs (those ride along with the next write).
        statusWritesPerTransition: { batch: +(sum(m, 'autorun_api_writes_total', 'resource="codingtasks/status"') / sum(m, 'autorun_task_phase_transitions_total')).toFixed(2), target: '≤ 1.25' },
        gpusBusyWhileQueued: { ...gpuBusy, tasks: GPU_TASKS, runStageSeconds: RUN_SECONDS, slots: GPU_SLOTS, gpus: 16, target: '≥ 0.98' },
        gpuContention: {
          reconcilesPerTask: +(gpuReconciles / GPU_TASKS).toFixed(2),
          transitionsPerTask: +(gpuTransitions / GPU_TASKS).toFixed(2),
          reconcilesPerTransition: +(gpuReconciles / gpuTransitions).toFixed(2),
          tasks: GPU_TASKS,
          slots: GPU_SLOTS,
          target: 'reconcilesPerTransition ≤ 3',
        },
        gpuHandoffMs: { p50: percentile(gpuHandoffs, 50), p99: percentile(gpuHandoffs, 99), n: gpuHandoffs.length, note: 'GPU Pod seen finished → the next GPU Pod created, while every GPU was taken' },
        podCreatesPerSecond: { operatorBurst: burst && +burst.podsPerSecond.toFixed(1), apiserverRaw: +raw.toFixed(1), ratio: burst && +(burst.podsPerSecond / raw).toFixed(2), pods: burst?.pods, operatorWritesPerSecondInBurst: burst && +burst.writesPerSecond.toFixed(1), batchAverage: +(podsCreated / wallS).toFixed(1), target: 'operatorBurst ≥ 0.8 × apiserverRaw' },
      };
    }

    // RSS with many tasks in the cache: suspended tasks cost a reconcile each and then sit.
    const tRss = Date.now();
    let created = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (created < RSS_TASKS) {
          const i = created++;
          await kube().custom.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: ns,
            plural: 'codingtasks',
            body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'CodingTask', metadata: { name: `idle-${i}` }, spec: { goal: 'Idle task for the memory benchmark.', suspend: true } },
          });
        }
      }),
    );
    // A busy operator may drop a scrape (the figure is read again a moment later).
    await until('idle tasks reconciled', async () => sum(await scrape(port).catch(() => new Map<string, number>()), 'autorun_tasks', 'phase="Suspended"') >= RSS_TASKS);
    const idleS = (Date.now() - tRss) / 1000;
    await sleep(2000);
    const rssMany = rssMiB(operator.pid!);
    // V8 gives garbage back lazily (its memory reducer acts once the process is idle): the figure
    // that matters for a memory limit is where the idle operator settles, so sample for a while.
    const settleS = Number(process.env.BENCH_SETTLE_SECONDS ?? 30);
    let rssSettled = rssMany;
    for (let i = 0; i < settleS; i++) {
      await sleep(1000);
      rssSettled = Math.min(rssSettled, rssMiB(operator.pid!));
    }
    const smaps = smapsBreakdown(operator.pid!);
    const report = await diagnosticReport(operator.pid!, REPORT_DIR);
    const mem = await scrape(port);
    const mib = (name: string) => +(sum(mem, name) / 2 ** 20).toFixed(1);
    figures.operatorRssMiB = {
      afterBatch: rssBatch && +rssBatch.toFixed(1),
      [`with${RSS_TASKS}Tasks`]: +rssMany.toFixed(1),
      [`with${RSS_TASKS}TasksAfter${settleS}sIdle`]: +rssSettled.toFixed(1),
      // Where it goes, sampled once settled: the kernel's mappings beside V8's heap spaces.
      breakdown: memoryFigures(smaps, report),
      heapUsedMiB: mib('nodejs_heap_size_used_bytes'),
      heapTotalMiB: mib('nodejs_heap_size_total_bytes'),
      externalMiB: mib('nodejs_external_memory_bytes'),
      idleTasksReconciledInSeconds: idleS,
      target: '≤ 150 with 10,000 tasks',
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    if (snapshotDir) await heapSnapshot(operator.pid!, snapshotDir);
    const hold = Number(process.env.BENCH_HOLD_SECONDS ?? 0);
    if (hold > 0) {
      process.stderr.write(`holding the operator (pid ${operator.pid}) for ${hold} s\n`);
      await sleep(hold * 1000);
    }
  } finally {
    rmSync(REPORT_DIR, { recursive: true, force: true });
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator!.once('exit', r));
      operator.kill('SIGTERM');
      await exited;
    }
    await agents?.stop();
    await deleteOperatorRbac(ns);
    await cluster.controlPlane.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
