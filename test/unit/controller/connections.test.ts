import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { sharedConnections } from '../../../operator/src/controller/connections.js';

// Any PEM-shaped CA will do: a dispatcher only reads it when it connects, and nothing connects here.
const pem = (tag: string) => Buffer.from(`-----BEGIN CERTIFICATE-----\n${Buffer.from(tag).toString('base64')}\n-----END CERTIFICATE-----\n`).toString('base64');

function config(ca: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: ca }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api/v1/pods', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  expect(ctx.getHeaders().Authorization).toBe('Bearer secret-token');
  return ctx.getDispatcher();
}

describe('sharedConnections', () => {
  test('client-node alone builds a new connection pool for every request', async () => {
    const kc = config(pem('ca-1'));
    const [a, b] = [await dispatcherOf(kc), await dispatcherOf(kc)];
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
  });

  test('through the shared view every request of one identity uses one pool', async () => {
    const shared = sharedConnections(config(pem('ca-1')));
    const a = await dispatcherOf(shared.kc);
    expect(await dispatcherOf(shared.kc)).toBe(a);
    expect(shared.pools()).toBe(1);
    // API clients made from the view use it too.
    expect(shared.kc.getCurrentUser()?.token).toBe('secret-token');
    await shared.close();
    expect(shared.pools()).toBe(0);
  });

  test('a rotated CA gets its own pool', async () => {
    const kc = config(pem('ca-1'));
    const shared = sharedConnections(kc);
    const a = await dispatcherOf(shared.kc);
    kc.clusters[0] = { ...kc.clusters[0]!, caData: pem('ca-2') };
    const b = await dispatcherOf(shared.kc);
    expect(b).not.toBe(a);
    expect(shared.pools()).toBe(2);
    await shared.close();
  });
});
