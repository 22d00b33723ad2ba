// /healthz (the process serves requests), /readyz (the caches are synced: a follower is ready too,
// so a rolling update can proceed while the other replica leads), /metrics (Prometheus text).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  ready: () => boolean;
  healthy: () => boolean;
  /** Called before /metrics is rendered, to refresh gauges. */
  beforeMetrics?: () => void;
}

export async function startProbeServer(o: ProbeServerOptions): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(body + '\n');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed');
    if (path === '/healthz' || path === '/livez') return o.healthy() ? text(200, 'ok') : text(500, 'unhealthy');
    if (path === '/readyz') return o.ready() ? text(200, 'ok') : text(503, 'caches not synced');
    if (path === '/metrics') {
      o.beforeMetrics?.();
      o.registry
        .metrics()
        .then((m) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(m))
        .catch((err) => text(500, String(err)));
      return;
    }
    text(404, 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
