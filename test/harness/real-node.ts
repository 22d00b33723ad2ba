// A real node beside the kwok ones: the kubelet (built by hack/build-tools.sh from the pinned go.mod),
// Debian's containerd and runc, a CNI bridge and a locally built pause image. Containers really start
// here, so images, init containers, emptyDir ownership, termination messages, `kubectl logs` and the
// securityContext are the real thing. Facts and quirks of these machines: ../shared/real-node.md.
//
// What it does to the host, and how each is undone (on stop(), on exit, on SIGINT/SIGTERM/SIGHUP, and
// by the next start after a SIGKILL, through the slot file under $TMPDIR/autorun-real-nodes/):
// - a bridge `autorun-brN` with the host address 10.245.N.1/32 and a route to the Pods' 10.245.N.0/24
//   (isGateway false, no masquerade, no ip_forward: Pods reach that address and each other only);
//   deleted at the end.
// - cgroups under /autorun-node-N in every v1 hierarchy (the kubelet's cgroupRoot); every process in
//   them is killed and the tree removed at the end.
// - containerd and the kubelet run inside one private mount namespace (unshare -m) whose /run,
//   /var/lib and /var/log are fresh tmpfs mounts and whose vm.overcommit_memory, kernel.panic and
//   kernel.panic_on_oops are files bind-mounted over /proc/sys: the host's sysctls and directories are
//   never touched, and every mount dies with the namespace.
// - no iptables (makeIPTablesUtilChains false, no kube-proxy, no masquerade).
// The containerd root (images, snapshots) persists per slot in ~/.cache/autorun/real-node-slotN, so a
// warm run imports no image twice; a root not left by a clean stop is started afresh.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProcessGroup, processesUsing, type Managed } from './processes.js';
import { toolsBinDir } from './tools.js';

export const REAL_NODE_NAME = 'autorun-real-node';
/** Label and NoSchedule taint of the real node: only Pods that tolerate it land there. */
export const REAL_NODE_LABEL = 'autorun.dev/real-node';
export const REAL_NODE_TAINT = { key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' } as const;
export const REAL_NODE_TOLERATION = { key: REAL_NODE_LABEL, operator: 'Equal', value: 'true', effect: 'NoSchedule' } as const;
export const REAL_NODE_SELECTOR = { [REAL_NODE_LABEL]: 'true' } as const;
/** The sandbox image containerd is told to use; imported from the local build, never pulled. */
export const PAUSE_IMAGE = 'localhost/autorun/pause:3.10-autorun';

const execFileAsync = promisify(execFile);
const SLOTS = 16;
const slotDir = join(tmpdir(), 'autorun-real-nodes');
const CGROUP_FS = '/sys/fs/cgroup';

/** What a test needs to know about the real node (also in cluster.json as realNode). */
export interface RealNodeInfo {
  name: string;
  /** The bridge's host address: the node IP, and the one address Pods can reach (listen here). */
  ip: string;
  /** The Pods' subnet on the bridge. */
  podSubnet: string;
  bridge: string;
  /** The apiserver as Pods reach it (a TCP pass-through on the bridge address, same port). */
  apiserverFromPods: string;
  /** containerd's socket, for `ctr --address <socket> -n k8s.io`. */
  containerdSocket: string;
  /** The node's own dir (logs/ has containerd.log and kubelet.log). */
  dir: string;
}

interface Slot {
  index: number;
  file: string;
}

interface SlotRecord {
  owner: number;
  dir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const bridgeName = (slot: number) => `autorun-br${slot}`;
const cgroupRootName = (slot: number) => `autorun-node-${slot}`;
const hostIp = (slot: number) => `10.245.${slot}.1`;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The v1 hierarchies (and the hybrid unified one) where the kubelet and runc create cgroups. */
function hierarchies(): string[] {
  try {
    return readdirSync(CGROUP_FS).map((h) => join(CGROUP_FS, h)).filter((p) => statSync(p).isDirectory());
  } catch {
    return [];
  }
}

/** Every cgroup dir under root, deepest first. */
function cgroupTree(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupTree(join(root, e.name)));
  out.push(root);
  return out;
}

function cgroupProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kills every process in the node's cgroups (the containers) and removes the cgroups. Synchronous:
 * runs from exit and signal handlers. A killed process leaves its cgroup a moment later, hence the retry.
 */
function removeCgroups(slot: number): void {
  const roots = hierarchies().map((h) => join(h, cgroupRootName(slot))).filter(existsSync);
  const deadline = Date.now() + 10_000;
  for (;;) {
    let left = 0;
    for (const root of roots) {
      for (const dir of cgroupTree(root)) {
        for (const pid of cgroupProcs(dir)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        try {
          rmdirSync(dir);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left++;
        }
      }
    }
    if (left === 0 || Date.now() > deadline) {
      if (left) process.stderr.write(`real node: ${left} cgroups under /${cgroupRootName(slot)} could not be removed\n`);
      return;
    }
    sleepSync(50);
  }
}

function deleteBridge(slot: number): void {
  spawnSync('ip', ['link', 'del', bridgeName(slot)], { stdio: 'ignore' });
}

function killProcessesUsing(dir: string): void {
  for (const pid of processesUsing(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Everything a node of this slot leaves on the host, removed; safe to run when nothing is there. */
function cleanSlot(slot: number, dir: string | undefined): void {
  // The shims name the containerd socket in the node dir; the containers are found by cgroup.
  if (dir) killProcessesUsing(dir);
  removeCgroups(slot);
  deleteBridge(slot);
  if (dir && !process.env.AUTORUN_KEEP_CONTROL_PLANE) rmSync(dir, { recursive: true, force: true });
}

/** Reaps the slots of every dead run, then claims a free one (bridge, subnet, cgroup root, containerd root). */
function claimSlot(): Slot {
  mkdirSync(slotDir, { recursive: true });
  const file = (index: number) => join(slotDir, `slot-${index}.json`);
  for (let index = 0; index < SLOTS; index++) {
    if (!existsSync(file(index))) continue;
    let rec: SlotRecord | undefined;
    try {
      rec = JSON.parse(readFileSync(file(index), 'utf8')) as SlotRecord;
    } catch {
      // A half-written record: its owner died while claiming.
    }
    if (rec && alive(rec.owner)) continue;
    cleanSlot(index, rec?.dir || undefined);
    rmSync(file(index), { force: true });
  }
  for (let index = 0; index < SLOTS; index++) {
    try {
      writeFileSync(file(index), JSON.stringify({ owner: process.pid, dir: '' } as SlotRecord), { flag: 'wx' });
      return { index, file: file(index) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
  }
  throw new Error(`real node: all ${SLOTS} slots in ${slotDir} are held by live runs`);
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`real node: ${what}: ${cmd} not runnable (${r.error.message}); install the Debian packages with hack/install-debs.sh`);
  if (r.status !== 0) throw new Error(`real node: ${what}: ${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'autorun');
}

/**
 * The pause image as an OCI archive, packed with umoci from the pause binary hack/build-tools.sh
 * compiled; cached by the binary's hash (packing takes about a second).
 */
function pauseArchive(): string {
  const bin = join(toolsBinDir(), 'pause');
  const hash = createHash('sha256').update(readFileSync(bin)).update(PAUSE_IMAGE).digest('hex').slice(0, 16);
  const archive = join(cacheRoot(), `pause-image-${hash}.tar`);
  if (existsSync(archive)) return archive;
  mkdirSync(cacheRoot(), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'autorun-pause-'));
  try {
    const layout = join(work, 'oci');
    const bundle = join(work, 'bundle');
    run('umoci', ['init', '--layout', layout], 'pause image');
    run('umoci', ['new', '--image', `${layout}:pause`], 'pause image');
    run('umoci', ['unpack', '--image', `${layout}:pause`, bundle], 'pause image');
    copyFileSync(bin, join(bundle, 'rootfs', 'pause'));
    chmodSync(join(bundle, 'rootfs', 'pause'), 0o755);
    run('umoci', ['repack', '--image', `${layout}:pause`, bundle], 'pause image');
    run('umoci', ['config', '--image', `${layout}:pause`, '--config.entrypoint', '/pause', '--config.user', '65535:65535'], 'pause image');
    run('umoci', ['gc', '--layout', layout], 'pause image');
    const indexFile = join(layout, 'index.json');
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    for (const m of index.manifests) m.annotations = { ...m.annotations, 'io.containerd.image.name': PAUSE_IMAGE, 'org.opencontainers.image.ref.name': PAUSE_IMAGE };
    writeFileSync(indexFile, JSON.stringify(index));
    const tmp = `${archive}.${process.pid}`;
    run('tar', ['-C', layout, '-cf', tmp, '.'], 'pause image');
    renameSync(tmp, archive);
    return archive;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The kubelet's kernel tunables (pkg/kubelet/cm setupKernelTunables): faked inside the namespace. */
const KERNEL_TUNABLES: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

function namespaceScript(dir: string): string {
  const lines = ['set -eu'];
  // Fresh tmpfs where containerd, the CNI plugins and the kubelet write fixed paths (/run/netns,
  // /var/lib/cni, /var/lib/kubelet/device-plugins, /var/log/pods): nothing lands on the host.
  for (const m of ['/run', '/var/lib', '/var/log']) lines.push(`mount -t tmpfs -o mode=0755 autorun-node ${m}`);
  mkdirSync(join(dir, 'sysctl'), { recursive: true });
  for (const [key, want] of Object.entries(KERNEL_TUNABLES)) {
    let have = '';
    try {
      have = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
    } catch {
      continue;
    }
    if (have === want) continue;
    const file = join(dir, 'sysctl', key.replace(/\//g, '.'));
    writeFileSync(file, `${want}\n`);
    lines.push(`mount --bind ${file} /proc/sys/${key}`);
  }
  lines.push(`touch ${join(dir, 'namespace-ready')}`);
  // The namespace lives as long as this shell (its command line names the dir, for the reaper).
  lines.push('while :; do sleep 3600; done');
  return `${lines.join('\n')}\n`;
}

function containerdConfig(dir: string, root: string, socket: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${root}"
state = "${join(dir, 'containerd-state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"
[${cri}]
  sandbox_image = "${PAUSE_IMAGE}"
  # The pause container's oom_score_adj -998 needs CAP_SYS_RESOURCE, which this machine's root lacks.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  max_container_log_line_size = 16384
[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
  discard_unpacked_layers = false
[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${join(dir, 'cni')}"
  max_conf_num = 1
`;
}

function cniConfig(slot: number): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'autorun-real-node',
    plugins: [{
      type: 'bridge',
      bridge: bridgeName(slot),
      // Not the Pods' gateway and no masquerade: Pods reach the host address and each other, nothing
      // beyond; the plugin then sets no ip_forward and no iptables rule.
      isGateway: false,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.245.${slot}.0/24`, rangeStart: `10.245.${slot}.10`, rangeEnd: `10.245.${slot}.250` }]] },
    }],
  }, null, 2);
}

function kubeletConfig(slot: number, socket: string, port: number, healthzPort: number, resolvConf: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This machine has cgroup v1 only and no systemd.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${cgroupRootName(slot)}`,
    containerRuntimeEndpoint: `unix://${socket}`,
    address: hostIp(slot),
    port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort,
    // The test apiserver has no kubelet client certificate (test clusters only).
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
    failSwapOn: false,
    // Images are imported by hand and never pulled: they must not be collected.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    // Pods get no nameserver: nothing they may reach has a name.
    resolvConf,
    registerWithTaints: [REAL_NODE_TAINT],
    serializeImagePulls: false,
    // Status and Pod changes reach the apiserver quickly, which the tests wait on.
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    shutdownGracePeriod: '0s',
    logging: { format: 'text' },
  }, null, 2);
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RealNodeClaim {
  slot: number;
  ip: string;
}

export interface RealNodeStartOptions {
  claim: RealNodeClaim;
  /** The apiserver (https://127.0.0.1:port) the kubelet registers with. */
  server: string;
  caCert: string;
  /** The kubelet's client certificate (system:node:<name> in system:nodes). */
  client: { cert: string; key: string };
  verbose?: boolean;
  timeoutMs?: number;
}

export class RealNode {
  readonly info: RealNodeInfo;
  private readonly group: ProcessGroup;
  private readonly proxy: PassThrough;
  private readonly slot: Slot;

  private constructor(info: RealNodeInfo, group: ProcessGroup, proxy: PassThrough, slot: Slot) {
    this.info = info;
    this.group = group;
    this.proxy = proxy;
    this.slot = slot;
  }

  /**
   * Claims the slot first, so the control plane's serving certificate can name the bridge address
   * before either starts. Throws with the fix when the machine cannot run a node.
   */
  static claim(): RealNodeClaim {
    if (process.getuid?.() !== 0) throw new Error('real node: the kubelet and containerd need root (run the tests as root, as CI does)');
    for (const bin of ['containerd', 'runc', 'ctr', 'umoci', 'unshare', 'nsenter', 'ip']) {
      if (spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status !== 0) {
        throw new Error(`real node: ${bin} is not installed; run hack/install-debs.sh (make test does)`);
      }
    }
    if (!existsSync('/usr/lib/cni/bridge')) throw new Error('real node: /usr/lib/cni/bridge is missing; run hack/install-debs.sh (containernetworking-plugins)');
    const slot = claimSlot();
    claimed.set(slot.index, slot);
    return { slot: slot.index, ip: hostIp(slot.index) };
  }

  /** Gives a claim back when the control plane failed before the node started. */
  static release(claim: RealNodeClaim): void {
    const slot = claimed.get(claim.slot);
    if (slot) rmSync(slot.file, { force: true });
    claimed.delete(claim.slot);
  }

  static async start(options: RealNodeStartOptions): Promise<RealNode> {
    const { claim } = options;
    const slot = claimed.get(claim.slot);
    if (!slot) throw new Error(`real node: slot ${claim.slot} was not claimed by this process`);
    const log = (msg: string) => {
      if (options.verbose) process.stderr.write(`[real-node] ${msg}\n`);
    };
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const dir = mkdtempSync(join(tmpdir(), 'autorun-node-'));
    writeFileSync(slot.file, JSON.stringify({ owner: process.pid, dir } as SlotRecord));
    const group = new ProcessGroup(dir);
    const index = slot.index;
    group.onKill(() => {
      rmSync(slot.file, { force: true });
      claimed.delete(index);
    });
    group.onKill(() => cleanSlot(index, undefined));
    group.onKill(() => killProcessesUsing(dir));
    let proxy: PassThrough | undefined;
    try {
      const ip = hostIp(index);
      const bridge = bridgeName(index);
      // Leftovers of a run that died between claim and clean-up would make `ip link add` fail.
      deleteBridge(index);
      run('ip', ['link', 'add', bridge, 'type', 'bridge'], 'bridge');
      run('ip', ['addr', 'add', `${ip}/32`, 'dev', bridge], 'bridge');
      run('ip', ['link', 'set', bridge, 'up'], 'bridge');
      run('ip', ['route', 'add', `10.245.${index}.0/24`, 'dev', bridge, 'src', ip], 'bridge');

      for (const h of hierarchies()) {
        if (h.endsWith('/unified')) continue;
        const root = join(h, cgroupRootName(index));
        mkdirSync(root, { recursive: true });
        // A new cpuset cgroup starts with no CPUs and no memory nodes: give it its parent's.
        if (existsSync(join(root, 'cpuset.cpus'))) {
          for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(root, f), readFileSync(join(h, f), 'utf8'));
        }
      }

      const pause = pauseArchive();
      const socket = join(dir, 'containerd.sock');
      const persistent = containerdRoot(index);
      // Only a root its last containerd left cleanly is reused: a run killed mid-import leaves
      // snapshots whose parents are gone ("parent snapshot ... does not exist"), so start it afresh.
      if (!existsSync(cleanMarker(index))) rmSync(persistent, { recursive: true, force: true });
      rmSync(cleanMarker(index), { force: true });
      mkdirSync(persistent, { recursive: true });
      mkdirSync(join(dir, 'cni'));
      writeFileSync(join(dir, 'cni', '10-autorun.conflist'), cniConfig(index));
      writeFileSync(join(dir, 'containerd.toml'), containerdConfig(dir, persistent, socket));
      writeFileSync(join(dir, 'ns.sh'), namespaceScript(dir));
      const resolvConf = join(dir, 'resolv.conf');
      writeFileSync(resolvConf, '');

      const holder = group.start('namespace', 'unshare', ['--mount', '--propagation', 'private', 'sh', join(dir, 'ns.sh')]);
      await waitFor(group, 'the private mount namespace', deadline, async () => existsSync(join(dir, 'namespace-ready')));
      const nsenter = (name: string, bin: string, args: string[]): Managed => group.start(name, 'nsenter', [`--mount=/proc/${holder.child.pid}/ns/mnt`, '--', bin, ...args]);
      nsenter('containerd', 'containerd', ['--config', join(dir, 'containerd.toml'), '--log-level', 'warn']);
      const ctr = new Ctr(socket);
      await waitFor(group, 'containerd', deadline, async () => ctr.ready());
      await importImages(socket, [{ refs: [PAUSE_IMAGE], archive: pause }]);
      log('containerd up, pause image in');

      const [port, healthzPort] = [await freePort(ip), await freePort('127.0.0.1')];
      writeFileSync(join(dir, 'kubelet.json'), kubeletConfig(index, socket, port, healthzPort, resolvConf));
      const kubeconfig = join(dir, 'kubelet.kubeconfig');
      writeFileSync(kubeconfig, [
        'apiVersion: v1', 'kind: Config',
        'clusters:', '- name: c', '  cluster:', `    server: ${options.server}`, `    certificate-authority: ${options.caCert}`,
        'users:', '- name: u', '  user:', `    client-certificate: ${options.client.cert}`, `    client-key: ${options.client.key}`,
        'contexts:', '- name: c', '  context: {cluster: c, user: u}', 'current-context: c', '',
      ].join('\n'), { mode: 0o600 });
      nsenter('kubelet', join(toolsBinDir(), 'kubelet'), [
        `--config=${join(dir, 'kubelet.json')}`,
        `--kubeconfig=${kubeconfig}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--cert-dir=${join(dir, 'kubelet-pki')}`,
        `--hostname-override=${REAL_NODE_NAME}`,
        `--node-ip=${ip}`,
        `--node-labels=${REAL_NODE_LABEL}=true`,
        '--v=2',
      ]);
      await waitFor(group, 'kubelet /healthz', deadline, async () => {
        const r = await fetch(`http://127.0.0.1:${healthzPort}/healthz`).catch(() => undefined);
        return r?.status === 200;
      });
      log('kubelet healthy');

      // kube-apiserver binds one address (127.0.0.1 here); Pods reach only the bridge address, so a
      // TCP pass-through there (TLS end to end; the serving certificate names this IP) serves them.
      const apiPort = Number(new URL(options.server).port);
      proxy = await passThrough(ip, apiPort, '127.0.0.1', apiPort);
      const info: RealNodeInfo = {
        name: REAL_NODE_NAME,
        ip,
        podSubnet: `10.245.${index}.0/24`,
        bridge,
        apiserverFromPods: `https://${ip}:${apiPort}`,
        containerdSocket: socket,
        dir,
      };
      return new RealNode(info, group, proxy, slot);
    } catch (err) {
      proxy?.close();
      const logs = group.procs.map((m) => `--- ${m.name} (${m.logFile})\n${group.tail(m, 20)}`).join('\n');
      await group.stop(1000);
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
  }

  /** Imports OCI archives into the node's containerd unless an image of that name and digest is there. */
  async importImages(images: NodeImage[]): Promise<string[]> {
    return importImages(this.info.containerdSocket, images);
  }

  logFile(component: 'containerd' | 'kubelet' | 'namespace'): string {
    return join(this.info.dir, 'logs', `${component}.log`);
  }

  async stop(): Promise<void> {
    this.proxy.close();
    // The kubelet first, so it restarts nothing while the rest goes; SIGKILL for all after a short grace.
    await this.group.stop(2000);
    // containerd is gone and its root consistent: the next run on this slot may reuse it.
    writeFileSync(cleanMarker(this.slot.index), '');
  }
}

const containerdRoot = (slot: number): string => join(cacheRoot(), `real-node-slot${slot}`, 'containerd');
const cleanMarker = (slot: number): string => join(cacheRoot(), `real-node-slot${slot}`, 'clean');

const claimed = new Map<number, Slot>();

async function waitFor(group: ProcessGroup, what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    group.assertAlive();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`real node: ${what} not ready in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The apiserver pass-through: a listening server and every connection it proxies. */
interface PassThrough {
  /** Stops listening and destroys every proxied connection (a dead Pod's among them). */
  close(): void;
}

function passThrough(host: string, port: number, toHost: string, toPort: number): Promise<PassThrough> {
  const open = new Set<Socket>();
  return new Promise((resolve, reject) => {
    const server = createServer((client) => {
      const upstream = createConnection({ host: toHost, port: toPort });
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      // Either side's FIN ends both at once (TLS needs no half-close). A client Pod gone with the
      // bridge leaves unsent bytes that would hold the socket open for the whole TCP retransmission
      // timeout, so close() destroys what is still open: nothing outlives the node.
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('error', end);
        s.on('end', end);
        s.on('close', end);
      }
    });
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        close: () => {
          server.close();
          for (const s of open) s.destroy();
          open.clear();
        },
      }),
    );
  });
}

/** containerd's own CLI against the node's socket, in the k8s.io namespace the CRI uses. */
export interface NodeImage {
  /** The references Pods name it by (the archive's io.containerd.image.name entries). */
  refs: string[];
  /** An OCI layout tarball. */
  archive: string;
}

/** The manifest digests in an OCI archive's index.json. */
function archiveDigests(archive: string): string[] {
  for (const member of ['./index.json', 'index.json']) {
    const r = spawnSync('tar', ['-xOf', archive, member], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status === 0) return (JSON.parse(r.stdout) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
  }
  throw new Error(`real node: ${archive} has no index.json (not an OCI layout tarball)`);
}

/**
 * Imports OCI archives into a real node's containerd unless every ref is there already with the
 * archive's manifest digest (a warm run imports nothing); returns the refs imported.
 */
export async function importImages(containerdSocket: string, images: NodeImage[]): Promise<string[]> {
  const ctr = new Ctr(containerdSocket);
  const done: string[] = [];
  for (const image of images) {
    const digests = archiveDigests(image.archive);
    const have = ctr.images();
    if (image.refs.every((ref) => digests.includes(have.get(ref) ?? ''))) continue;
    await ctr.importArchive(image.archive, image.refs);
    done.push(...image.refs);
  }
  return done;
}

class Ctr {
  private readonly socket: string;

  constructor(socket: string) {
    this.socket = socket;
  }

  private args(rest: string[]): string[] {
    return ['--address', this.socket, '--namespace', 'k8s.io', ...rest];
  }

  async ready(): Promise<boolean> {
    return existsSync(this.socket) && spawnSync('ctr', this.args(['version']), { stdio: 'ignore', timeout: 5000 }).status === 0;
  }

  /** name → target digest of the images containerd has. */
  images(): Map<string, string> {
    const out = execFileSync('ctr', this.args(['images', 'ls']), { encoding: 'utf8' });
    const map = new Map<string, string>();
    for (const line of out.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const digest = cols.find((c) => c.startsWith('sha256:'));
      if (cols[0] && digest) map.set(cols[0], digest);
    }
    return map;
  }

  async importArchive(archive: string, refs: string[]): Promise<void> {
    try {
      await execFileAsync('ctr', this.args(['images', 'import', archive]), { maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`real node: ctr images import ${archive} failed: ${e.stderr || e.message}`);
    }
    const have = this.images();
    const missing = refs.filter((r) => !have.has(r));
    if (missing.length) throw new Error(`real node: importing ${archive} did not give ${missing.join(', ')} (is its index.json annotated io.containerd.image.name?)`);
  }
}
