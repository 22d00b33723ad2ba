// client-node 2.0.1 builds a new undici Agent for every API call (KubeConfig.createDispatcher is not
// cached, unlike createAgent for WebSockets), so every request paid a fresh TCP + TLS handshake and
// left an idle connection pool behind for the garbage collector. On a busy 2-core node that was most
// of the latency between "Pod finished" and "next Pod created", and much of the operator's memory.
// sharedConnections() returns a view of the KubeConfig whose dispatchers are reused per TLS identity,
// so requests ride kept-alive connections the way client-go's transport cache does.
import type { KubeConfig } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';

interface Dispatcher {
  close(): Promise<void>;
}

type CreateDispatcher = (cluster: unknown, agentOptions: object) => Dispatcher | undefined;

export interface SharedKubeConfig {
  kc: KubeConfig;
  /** Connections currently pooled (one per TLS identity, normally one). */
  pools(): number;
  /** Closes the pooled connections; requests after this open new ones. */
  close(): Promise<void>;
}

/** The options decide the connection: a rotated client certificate or CA gets a new pool. */
function identityOf(options: unknown): string {
  const json = JSON.stringify(options, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return `buf:${createHash('sha256').update(Buffer.from((v as { data: number[] }).data)).digest('hex')}`;
    }
    return v;
  });
  return createHash('sha256').update(json).digest('hex');
}

export function sharedConnections(kc: KubeConfig): SharedKubeConfig {
  const base = kc as unknown as { createDispatcher?: CreateDispatcher; createDispatcherOptions?: (c: unknown, o: object) => unknown };
  const create = base.createDispatcher;
  const describe = base.createDispatcherOptions;
  if (typeof create !== 'function' || typeof describe !== 'function') {
    // A client-node that no longer has these internals presumably pools connections itself.
    return { kc, pools: () => 0, close: async () => undefined };
  }
  const cache = new Map<string, Dispatcher | undefined>();
  // A view, not a copy: contexts, users and authenticators (token files, exec plugins) stay the
  // caller's, only dispatcher creation is memoized.
  const view = Object.create(kc) as KubeConfig;
  (view as unknown as { createDispatcher: CreateDispatcher }).createDispatcher = function (cluster: unknown, agentOptions: object): Dispatcher | undefined {
    const key = identityOf(describe.call(kc, cluster, agentOptions));
    if (cache.has(key)) return cache.get(key);
    const d = create.call(kc, cluster, agentOptions);
    cache.set(key, d);
    return d;
  };
  return {
    kc: view,
    pools: () => [...cache.values()].filter(Boolean).length,
    close: async () => {
      const all = [...cache.values()];
      cache.clear();
      await Promise.allSettled(all.map((d) => d?.close()));
    },
  };
}
