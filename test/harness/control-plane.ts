// A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and the kwok controller (the kubelet stand-in for fake nodes), all built from their
// Go modules by hack/build-tools.sh and run as child processes on 127.0.0.1 with free ports, in a
// temp dir that stop() removes.
//
//   const cp = await ControlPlane.start();   // resolves when every component is healthy
//   cp.kubeconfig                            // admin kubeconfig (system:masters, client cert)
//   await cp.stop();
//
// RBAC is on and each component has its own identity: the controller manager runs its controllers
// with per-controller service accounts, so a missing permission fails here as it would on GKE.
// Set AUTORUN_KEEP_CONTROL_PLANE=1 to keep the temp dir (logs/, kubeconfigs) after stop(), and
// AUTORUN_KWOK_LOG_LEVEL=INFO to see kwok's every Pod and node transition in logs/kwok.log.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki, type CertPair, type Pki } from './pki.js';
import { ProcessGroup, reapOrphans } from './processes.js';
import { REAL_NODE_NAME } from './real-node.js';
import { repoRoot, tool } from './tools.js';

/** The annotation kwok is told to manage; fake nodes carry it (see nodes.ts). */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const KWOK_NODE_ANNOTATION_VALUE = 'fake';

export interface StartOptions {
  /** How long all components together may take to become healthy. */
  timeoutMs?: number;
  /** Print component progress to stderr. */
  verbose?: boolean;
  /** Extra kube-apiserver flags, e.g. --watch-cache=false so watches read etcd directly. */
  apiserverArgs?: string[];
  /** More addresses the apiserver's serving certificate names (the real node's bridge address). */
  servingIPs?: string[];
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

const IDENTITIES = {
  admin: { user: 'autorun-admin', groups: ['system:masters'] },
  'kube-controller-manager': { user: 'system:kube-controller-manager', groups: [] },
  'kube-scheduler': { user: 'system:kube-scheduler', groups: [] },
  // kwok acts for every fake node at once, which the Node authorizer's one-node-per-kubelet model
  // cannot express; it is test infrastructure, so it gets cluster-admin rights.
  kwok: { user: 'kwok-controller', groups: ['system:masters'] },
  // The aggregation layer's client; with it configured the controller manager and scheduler find
  // the request-header CA they look up at start instead of logging its absence every second.
  'front-proxy': { user: 'front-proxy-client', groups: [] },
  // The real node's kubelet, authorized by the Node authorizer as on any cluster (real-node.ts).
  kubelet: { user: `system:node:${REAL_NODE_NAME}`, groups: ['system:nodes'] },
};

/** The apiserver's audit log, under the control plane's logs/. */
export const AUDIT_LOG = 'audit.log';

function writeAuditPolicy(dir: string): string {
  const path = join(dir, 'audit-policy.yaml');
  writeFileSync(
    path,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '  - {level: None, userGroups: ["system:serviceaccounts:kube-system"]}',
      '  - {level: Metadata, userGroups: ["system:serviceaccounts"]}',
      '  - {level: None}',
      '',
    ].join('\n'),
  );
  return path;
}

async function freePorts(n: number): Promise<number[]> {
  // All listeners stay open until every port is known, so the n ports differ.
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function kubeconfigYaml(server: string, caCert: string, client: CertPair, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: autorun-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caCert}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate: ${client.cert}`,
    `    client-key: ${client.key}`,
    'contexts:',
    '- name: autorun-test',
    '  context:',
    '    cluster: autorun-test',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: autorun-test',
    '',
  ].join('\n');
}

interface Probe {
  url: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Self-signed serving certs of the controller manager and scheduler: only reachability matters. */
  insecure?: boolean;
}

function probe(p: Probe): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(p.url);
    const opts = {
      method: 'GET',
      timeout: 2000,
      ...(u.protocol === 'https:'
        ? {
            ca: p.ca ? readFileSync(p.ca) : undefined,
            cert: p.cert ? readFileSync(p.cert) : undefined,
            key: p.key ? readFileSync(p.key) : undefined,
            rejectUnauthorized: !p.insecure,
          }
        : {}),
    };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export class ControlPlane {
  readonly kubeconfig: string;
  readonly server: string;

  readonly dir: string;
  readonly ports: Ports;
  readonly pki: Pki;
  private readonly group: ProcessGroup;

  // Plain fields, not parameter properties: jest's global setup loads this file through Node's
  // type stripping, which only accepts erasable TypeScript syntax.
  private constructor(dir: string, ports: Ports, pki: Pki, group: ProcessGroup) {
    this.dir = dir;
    this.ports = ports;
    this.pki = pki;
    this.group = group;
    this.server = `https://127.0.0.1:${ports.apiserver}`;
    this.kubeconfig = join(dir, 'admin.kubeconfig');
  }

  static async start(options: StartOptions = {}): Promise<ControlPlane> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    const log = (msg: string) => {
      if (options.verbose) process.stderr.write(`[control-plane] ${msg}\n`);
    };
    for (const dir of reapOrphans()) log(`reaped leftovers of ${dir}`);

    const dir = mkdtempSync(join(tmpdir(), 'autorun-cp-'));
    const group = new ProcessGroup(dir);
    try {
      const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok] = await freePorts(6);
      const ports: Ports = { etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver!, controllerManager: controllerManager!, scheduler: scheduler!, kwok: kwok! };
      const pkiDir = join(dir, 'pki');
      mkdirSync(pkiDir);
      const pki = createPki(pkiDir, IDENTITIES, options.servingIPs ?? []);
      const cp = new ControlPlane(dir, ports, pki, group);
      await cp.boot(deadline, log, options.apiserverArgs ?? []);
      log(`ready in ${dir}; KUBECONFIG=${cp.kubeconfig}`);
      return cp;
    } catch (err) {
      await group.stop(1000);
      throw err;
    }
  }

  /** Logs of a component (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok). */
  logFile(component: string): string {
    return join(this.dir, 'logs', `${component}.log`);
  }

  /** The component processes (name and pid), for tests of the harness itself. */
  components(): { name: string; pid: number }[] {
    return this.group.procs.flatMap((m) => (m.child.pid ? [{ name: m.name, pid: m.child.pid }] : []));
  }

  async stop(): Promise<void> {
    await this.group.stop();
  }

  private writeKubeconfig(name: keyof typeof IDENTITIES): string {
    const path = name === 'admin' ? this.kubeconfig : join(this.dir, `${name}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(this.server, this.pki.caCert, this.pki.clients[name]!, IDENTITIES[name].user), { mode: 0o600 });
    return path;
  }

  private async waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
    let last = '';
    for (;;) {
      this.group.assertAlive();
      try {
        if (await check()) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        const logs = this.group.procs.map((m) => `--- ${m.name} (${m.logFile})\n${this.group.tail(m, 15)}`).join('\n');
        throw new Error(`control plane: ${what} not ready in time${last ? ` (last error: ${last})` : ''}\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async boot(deadline: number, log: (m: string) => void, apiserverArgs: string[]): Promise<void> {
    const { dir, ports, pki } = this;
    const loopback = '127.0.0.1';

    const etcdUrl = `http://${loopback}:${ports.etcdClient}`;
    const peerUrl = `http://${loopback}:${ports.etcdPeer}`;
    this.group.start('etcd', tool('etcd'), [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // A test cluster dies with its run: durability buys nothing and fsync costs every write.
      '--unsafe-no-fsync',
      '--log-level=warn',
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=5m',
    ]);
    await this.waitFor('etcd', deadline, async () => (await probe({ url: `${etcdUrl}/health` })).status === 200);
    log('etcd healthy');

    const admin = pki.clients.admin!;
    this.writeKubeconfig('admin');
    this.group.start('kube-apiserver', tool('kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${loopback}`,
      `--advertise-address=${loopback}`,
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${join(dir, 'kube-apiserver')}`,
      `--tls-cert-file=${pki.serving.cert}`,
      `--tls-private-key-file=${pki.serving.key}`,
      `--client-ca-file=${pki.caCert}`,
      // Node first: the real node's kubelet gets exactly what a kubelet gets on any cluster.
      '--authorization-mode=Node,RBAC',
      // `kubectl logs` and exec: the apiserver dials the node IP, not its (unresolvable) name.
      '--kubelet-preferred-address-types=InternalIP',
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--allow-privileged=true',
      // The kubernetes Service cannot have a loopback endpoint; nothing in-cluster calls it here.
      '--endpoint-reconciler-type=none',
      `--requestheader-client-ca-file=${pki.caCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.clients['front-proxy']!.cert}`,
      `--proxy-client-key-file=${pki.clients['front-proxy']!.key}`,
      '--profiling=false',
      // Every request of a ServiceAccount outside kube-system (the operator runs as one), for the
      // test that compares the operator's calls with its RBAC rules (controller/rbac.test.ts).
      `--audit-policy-file=${writeAuditPolicy(dir)}`,
      `--audit-log-path=${join(dir, 'logs', AUDIT_LOG)}`,
      '--audit-log-format=json',
      ...apiserverArgs,
    ]);
    await this.waitFor('kube-apiserver /readyz', deadline, async () => {
      const r = await probe({ url: `${this.server}/readyz`, ca: pki.caCert, cert: admin.cert, key: admin.key });
      return r.status === 200;
    });
    log('kube-apiserver ready');

    const kcmKubeconfig = this.writeKubeconfig('kube-controller-manager');
    this.group.start('kube-controller-manager', tool('kube-controller-manager'), [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      `--bind-address=${loopback}`,
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(dir, 'kube-controller-manager')}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // Garbage collection and the namespace controller must keep up with tests that create and
      // delete many objects; the defaults (20 qps) are tuned for protecting big clusters.
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--profiling=false',
    ]);
    const schedKubeconfig = this.writeKubeconfig('kube-scheduler');
    this.group.start('kube-scheduler', tool('kube-scheduler'), [
      `--kubeconfig=${schedKubeconfig}`,
      `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`,
      `--bind-address=${loopback}`,
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${join(dir, 'kube-scheduler')}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    const kwokKubeconfig = this.writeKubeconfig('kwok');
    const kwokHome = join(dir, 'kwok-home');
    mkdirSync(kwokHome);
    this.group.start('kwok', tool('kwok'), [
      `--kubeconfig=${kwokKubeconfig}`,
      `--config=${join(repoRoot(), 'test', 'harness', 'kwok-stages.yaml')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=${KWOK_NODE_ANNOTATION_VALUE}`,
      '--node-lease-duration-seconds=40',
      `--server-address=${loopback}:${ports.kwok}`,
      // kwok logs every stage of every Pod at INFO, which costs CPU in benchmarks with thousands.
      `--v=${process.env.AUTORUN_KWOK_LOG_LEVEL ?? 'WARN'}`,
    ],
    // kwok also loads ~/.kwok/kwok.yaml when it exists; a private HOME keeps a developer's file out.
    { ...process.env, HOME: kwokHome });

    const healthy = (url: string) => async () => (await probe({ url, insecure: true })).status === 200;
    await Promise.all([
      this.waitFor('kube-controller-manager /healthz', deadline, healthy(`https://${loopback}:${ports.controllerManager}/healthz`)),
      this.waitFor('kube-scheduler /readyz', deadline, healthy(`https://${loopback}:${ports.scheduler}/readyz`)),
      this.waitFor('kwok /healthz', deadline, healthy(`http://${loopback}:${ports.kwok}/healthz`)),
    ]);
    log('controller-manager, scheduler and kwok healthy');

    // Pods are rejected until the namespace's default ServiceAccount exists, which the controller
    // manager creates: waiting here spares every test the race in the default namespace.
    await this.waitFor('default ServiceAccount', deadline, async () => {
      const r = await probe({ url: `${this.server}/api/v1/namespaces/default/serviceaccounts/default`, ca: pki.caCert, cert: admin.cert, key: admin.key });
      return r.status === 200;
    });
  }
}
