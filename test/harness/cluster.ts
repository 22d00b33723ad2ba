// What global-setup and `make cluster` share: a control plane with the autorun CRDs installed
// and Established, the real node (real-node.ts) beside the kwok ones, and a cluster.json next to its
// kubeconfig for tests to find both.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ControlPlane, type StartOptions } from './control-plane.js';
import type { ClusterInfo } from './kube.js';
import { kubectl, kubectlOk } from './kubectl.js';
import { RealNode, type NodeImage } from './real-node.js';
import { repoRoot, toolsBinDir } from './tools.js';

export interface Cluster {
  controlPlane: ControlPlane;
  realNode?: RealNode;
  info: ClusterInfo;
  infoFile: string;
  stop(): Promise<void>;
}

export interface ClusterOptions extends StartOptions {
  /** Start the real node (default true; AUTORUN_REAL_NODE=0 turns it off for a machine without root). */
  realNode?: boolean;
}

export async function installCrds(kubeconfig: string): Promise<string[]> {
  // AUTORUN_CRDS_DIR as in operator/src/api/paths.ts: lets a schema change be tried without editing crds/.
  const dir = process.env.AUTORUN_CRDS_DIR ?? join(repoRoot(), 'crds');
  await kubectlOk(['apply', '--server-side', '--field-manager=autorun-test-harness', '-f', dir], { kubeconfig });
  const names = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/^autorun\.dev_(.*)\.yaml$/, '$1.autorun.dev'));
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((n) => `crd/${n}`)], { kubeconfig });
  return names;
}

/**
 * The images hack/build-images.sh built (AUTORUN_IMAGES_DIR: its images.json and OCI archives), for
 * the real node to import; none when the variable is unset (startCluster sets it).
 */
export function builtImages(): NodeImage[] {
  const dir = process.env.AUTORUN_IMAGES_DIR;
  if (!dir) return [];
  const file = join(dir, 'images.json');
  if (!existsSync(file)) throw new Error(`AUTORUN_IMAGES_DIR=${dir} has no images.json; run hack/build-images.sh`);
  // { "<name>": { "ref": "...", "refs": [...], "archive": "/abs/<name>.tar" } } (hack/build-images.sh)
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { ref?: string; refs?: string[]; archive?: string }>;
  return Object.entries(parsed).map(([name, i]) => {
    const refs = i.refs?.length ? i.refs : i.ref ? [i.ref] : [];
    if (!refs.length || !i.archive) throw new Error(`${file}: image ${name} needs refs and an archive, got ${JSON.stringify(i)}`);
    return { refs, archive: i.archive.startsWith('/') ? i.archive : join(dirname(file), i.archive) };
  });
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const toolsBin = toolsBinDir();
  const wantNode = options.realNode ?? process.env.AUTORUN_REAL_NODE !== '0';
  // The slot (bridge address) first: the apiserver's serving certificate names it.
  const claim = wantNode ? RealNode.claim() : undefined;
  let controlPlane: ControlPlane;
  try {
    controlPlane = await ControlPlane.start({ ...options, servingIPs: claim ? [claim.ip] : [] });
  } catch (err) {
    if (claim) RealNode.release(claim);
    throw err;
  }
  let realNode: RealNode | undefined;
  try {
    const started = Date.now();
    const [, node] = await Promise.all([
      installCrds(controlPlane.kubeconfig),
      claim
        ? RealNode.start({ claim, server: controlPlane.server, caCert: controlPlane.pki.caCert, client: controlPlane.pki.clients.kubelet!, verbose: options.verbose })
        : Promise.resolve(undefined),
    ]);
    realNode = node;
    if (realNode) {
      // As tools.ts does for the Go binaries: a run started without the Makefile builds (or reuses) them.
      process.env.AUTORUN_IMAGES_DIR ??= execFileSync(join(repoRoot(), 'hack', 'build-images.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
      await waitNodeReady(controlPlane.kubeconfig, realNode.info.name, 90_000);
      const imported = await realNode.importImages(builtImages());
      if (options.verbose) process.stderr.write(`[real-node] up in ${Date.now() - started} ms${imported.length ? `, imported ${imported.join(', ')}` : ''}\n`);
    }
    const info: ClusterInfo = {
      kubeconfig: controlPlane.kubeconfig,
      server: controlPlane.server,
      dir: controlPlane.dir,
      toolsBin,
      ...(realNode ? { realNode: realNode.info } : {}),
    };
    const infoFile = join(controlPlane.dir, 'cluster.json');
    writeFileSync(infoFile, JSON.stringify(info, null, 2));
    const stop = async () => {
      await realNode?.stop();
      await controlPlane.stop();
    };
    return { controlPlane, realNode, info, infoFile, stop };
  } catch (err) {
    await realNode?.stop();
    if (claim && !realNode) RealNode.release(claim);
    await controlPlane.stop();
    throw err;
  }
}

async function waitNodeReady(kubeconfig: string, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await kubectl(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}'], { kubeconfig });
    last = r.code === 0 ? r.stdout : r.stderr;
    if (r.code === 0 && r.stdout.startsWith('True')) return;
    if (Date.now() > deadline) throw new Error(`real node ${name} not Ready in ${timeoutMs} ms: ${last}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
