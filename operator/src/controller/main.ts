// `autorun operator`: loads the kubeconfig (in-cluster, else KUBECONFIG / ~/.kube/config), reads
// flags (each with an environment fallback for the chart), runs the Controller until SIGTERM or
// SIGINT, then shuts down gracefully: no new work, in-flight reconciles finish, the Lease is released.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createLogger } from '../util/log.js';
import { Controller, DEFAULT_WORKERS } from './controller.js';
import { DEFAULT_EGRESS, parseCidrs } from './netpol/build.js';

const USAGE = `usage: autorun operator [flags]

  --namespace NS                 watch one namespace (env WATCH_NAMESPACE; default: all)
  --leader-elect=false           act without a Lease (default: true)
  --leader-election-id NAME      Lease name (default autorun-operator)
  --leader-election-namespace NS Lease namespace (env POD_NAMESPACE; default: in-cluster namespace or default)
  --lease-duration SECONDS       (default 15)
  --renew-deadline SECONDS       (default 10)
  --retry-period SECONDS         (default 2)
  --identity ID                  this replica's holder identity (env POD_NAME; default hostname + random)
  --port PORT                    /healthz /readyz /metrics (env METRICS_PORT; default 8080; 0 = any)
  --workers N                    concurrent reconciles (default 32: each mostly waits on the apiserver)
  --resync SECONDS               re-reconcile every task this often (default 600)
  --network-policies=false       write no NetworkPolicies for stage Pods (env AUTORUN_NETWORK_POLICIES; default true)
  --git-egress-cidrs LIST        where stage Pods reach the git host, TCP 443/22/9418 (env AUTORUN_GIT_EGRESS_CIDRS; default 0.0.0.0/0)
  --model-egress-cidrs LIST      where code, test and repair reach the model (env AUTORUN_MODEL_EGRESS_CIDRS; default 0.0.0.0/0)
  --dns-egress-cidrs LIST        resolvers besides kube-dns, e.g. NodeLocal DNSCache (env AUTORUN_DNS_EGRESS_CIDRS; default none)
                                 Every CIDR excepts the link-local range: no stage Pod reaches 169.254.169.254.
`;

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        namespace: { type: 'string' },
        'leader-elect': { type: 'string' },
        'leader-election-id': { type: 'string' },
        'leader-election-namespace': { type: 'string' },
        'lease-duration': { type: 'string' },
        'renew-deadline': { type: 'string' },
        'retry-period': { type: 'string' },
        identity: { type: 'string' },
        port: { type: 'string' },
        workers: { type: 'string' },
        resync: { type: 'string' },
        'network-policies': { type: 'string' },
        'git-egress-cidrs': { type: 'string' },
        'model-egress-cidrs': { type: 'string' },
        'dns-egress-cidrs': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const num = (flag: string, fallback: number): number => {
    const v = values[flag] as string | undefined;
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a non-negative number, got ${v}`);
    return n;
  };
  const log = createLogger('operator');
  let controller: Controller;
  try {
    const kc = loadKubeConfig();
    const leNamespace =
      (values['leader-election-namespace'] as string | undefined) ??
      process.env.POD_NAMESPACE ??
      (existsSync(SA_NAMESPACE) ? readFileSync(SA_NAMESPACE, 'utf8').trim() : 'default');
    const identity = (values.identity as string | undefined) ?? process.env.POD_NAME ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    const leaderElect = (values['leader-elect'] as string | undefined) !== 'false';
    // An empty value is an empty list (no such egress), not the default.
    const flagOrEnv = (flag: string, env: string): string | undefined => (values[flag] as string | undefined) ?? process.env[env];
    const networkPolicies =
      flagOrEnv('network-policies', 'AUTORUN_NETWORK_POLICIES') === 'false'
        ? (false as const)
        : {
            gitCIDRs: parseCidrs('git-egress-cidrs', flagOrEnv('git-egress-cidrs', 'AUTORUN_GIT_EGRESS_CIDRS'), DEFAULT_EGRESS.gitCIDRs),
            modelCIDRs: parseCidrs('model-egress-cidrs', flagOrEnv('model-egress-cidrs', 'AUTORUN_MODEL_EGRESS_CIDRS'), DEFAULT_EGRESS.modelCIDRs),
            dnsCIDRs: parseCidrs('dns-egress-cidrs', flagOrEnv('dns-egress-cidrs', 'AUTORUN_DNS_EGRESS_CIDRS'), DEFAULT_EGRESS.dnsCIDRs),
          };
    const slack = process.env.SLACK_BOT_TOKEN && process.env.SLACK_CHANNEL ? (await import('../report/slack/app.js')).slackConfigFromEnv() : undefined;
    controller = new Controller({
      kc,
      namespace: (values.namespace as string | undefined) ?? (process.env.WATCH_NAMESPACE || undefined),
      identity,
      leaderElection: leaderElect
        ? {
            namespace: leNamespace,
            name: (values['leader-election-id'] as string | undefined) ?? 'autorun-operator',
            leaseDurationSeconds: num('lease-duration', 15),
            renewDeadlineMs: num('renew-deadline', 10) * 1000,
            retryPeriodMs: num('retry-period', 2) * 1000,
          }
        : false,
      port: num('port', Number(process.env.METRICS_PORT ?? 8080)),
      workers: Math.max(1, num('workers', DEFAULT_WORKERS)),
      resyncMs: num('resync', 600) * 1000,
      processMetrics: true,
      log,
      // SLACK_BOT_TOKEN and SLACK_CHANNEL (from a Secret) turn on one Slack thread per task.
      slack,
      networkPolicies,
    });
  } catch (err) {
    log.error('cannot start', { err: (err as Error).message });
    return 2;
  }

  let signalled: NodeJS.Signals | undefined;
  const done = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled) {
        log.warn('second signal, exiting now', { signal: sig });
        process.exit(1);
      }
      signalled = sig;
      log.info('shutting down', { signal: sig });
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    await Promise.race([controller.start(), done]);
    log.info('operator running', { port: controller.port });
    await done;
  } catch (err) {
    log.error('operator failed', { err: (err as Error).message });
    await controller.stop();
    return 1;
  }
  await controller.stop();
  return 0;
}
