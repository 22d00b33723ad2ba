// A TCP proxy in front of the real kube-apiserver that can break the network the way production
// does: connections reset (a load balancer or apiserver restart), the apiserver unreachable for a
// while, and a connection that stays open but delivers nothing (a half-dead NAT entry). TLS passes
// through untouched, so the client still verifies the apiserver's certificate.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type Mode = 'pass' | 'down';
type Pair = { client: Socket; upstream: Socket; frozen: boolean };

export class FaultProxy {
  readonly url: string;
  private mode: Mode = 'pass';
  private readonly pairs = new Set<Pair>();
  private readonly server: Server;
  /** Connections passed through so far. */
  accepted = 0;
  /** Connections reset on arrival while the apiserver was down: each is a client that tried. */
  refused = 0;

  private constructor(server: Server, url: string) {
    this.server = server;
    this.url = url;
  }

  /** Listens on a free 127.0.0.1 port and forwards to `target` (https://host:port). */
  static async start(target: string): Promise<FaultProxy> {
    const { hostname, port } = new URL(target);
    const ref: { proxy?: FaultProxy } = {};
    const server = createServer((client) => ref.proxy!.accept(client, hostname, Number(port)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy has no TCP address');
    ref.proxy = new FaultProxy(server, `https://127.0.0.1:${address.port}`);
    return ref.proxy;
  }

  /** `kc` with its server swapped for this proxy; TLS still verifies the apiserver's certificate. */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const out = new KubeConfig();
    out.loadFromOptions({
      clusters: [{ ...kc.getCurrentCluster()!, name: 'proxied', server: this.url }],
      users: kc.users,
      contexts: [{ name: 'proxied', cluster: 'proxied', user: kc.getCurrentUser()!.name }],
      currentContext: 'proxied',
    });
    return out;
  }

  /** Connections open now (frozen ones included). */
  get open(): number {
    return this.pairs.size;
  }

  /** Resets every open connection with a TCP RST; new connections still go through. */
  reset(): void {
    for (const p of this.pairs) this.drop(p);
  }

  /** The apiserver becomes unreachable: open connections are reset and new ones too. */
  down(): void {
    this.mode = 'down';
    this.reset();
  }

  up(): void {
    this.mode = 'pass';
  }

  /**
   * Every open connection stops carrying bytes in both directions but stays open, so neither end
   * notices; connections made afterwards work normally.
   */
  freezeOpen(): number {
    let n = 0;
    for (const p of this.pairs) {
      if (p.frozen) continue;
      p.frozen = true;
      p.client.unpipe(p.upstream);
      p.upstream.unpipe(p.client);
      p.client.pause();
      p.upstream.pause();
      n++;
    }
    return n;
  }

  async stop(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.mode === 'down') {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = connect({ host, port });
    const pair: Pair = { client, upstream, frozen: false };
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => this.drop(pair);
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (!pair.upstream.destroyed) pair.upstream.destroy();
  }
}
