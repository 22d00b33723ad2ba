// KubeApi's writes against a loopback HTTP server speaking the apiserver's status codes: the
// idempotence reconcile relies on (409 on create is "exists", 404 on delete is "gone", a status
// write's 409 surfaces as the Conflict it is) and the write metric carrying the code sent.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { httpCode, KubeApi } from '../../../operator/src/controller/kube.js';
import { ControllerMetrics } from '../../../operator/src/controller/metrics.js';
import { task } from './pods/fixtures.js';

interface Seen {
  method: string;
  url: string;
  body: unknown;
}

let server: Server;
let api: KubeApi;
let metrics: ControllerMetrics;
const seen: Seen[] = [];
/** Status code per "METHOD path" (the rest answer 200 with the request body back). */
const answers = new Map<string, number>();

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => resolve(b));
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void read(req).then((b) => {
      const body = b ? JSON.parse(b) : undefined;
      seen.push({ method: req.method!, url: req.url!, body });
      const code = answers.get(`${req.method} ${req.url!.split('?')[0]}`) ?? 200;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(code < 300 ? (body ?? { kind: 'Status', status: 'Success' }) : { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: code === 409 ? 'AlreadyExists' : 'NotFound' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  metrics = new ControllerMetrics();
  api = new KubeApi(kc, metrics);
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  seen.length = 0;
  answers.clear();
});

const pod = { metadata: { name: 'p1', namespace: 'ns' } };

test('a Pod create answered 409 is "exists" (deterministic names make a repeated create harmless)', async () => {
  expect(await api.createPod('ns', pod, 'ns/t')).toBe('created');
  answers.set('POST /api/v1/namespaces/ns/pods', 409);
  expect(await api.createPod('ns', pod, 'ns/t')).toBe('exists');
  expect(seen.map((s) => s.method)).toEqual(['POST', 'POST']);
});

test('a delete answered 404 is "gone"; the delete lets the garbage collector take the Pod\'s dependents in the background', async () => {
  answers.set('DELETE /api/v1/namespaces/ns/pods/p1', 404);
  expect(await api.deletePod('ns', 'p1', 'ns/t')).toBe('gone');
  answers.clear();
  expect(await api.deletePod('ns', 'p1', 'ns/t')).toBe('deleted');
  expect(seen.at(-1)?.url).toContain('propagationPolicy=Background');
});

test('a status write carries the resourceVersion it was computed from; a 409 is thrown with its code', async () => {
  const t = task({}, { resourceVersion: '42' });
  const path = `/apis/autorun.dev/v1alpha1/namespaces/team-a/codingtasks/fizzbuzz/status`;
  const written = await api.replaceTaskStatus(t, { phase: 'Coding' }, 'team-a/fizzbuzz');
  expect(seen.at(-1)).toMatchObject({ method: 'PUT', url: path, body: { metadata: { resourceVersion: '42' }, status: { phase: 'Coding' } } });
  expect(written.status?.phase).toBe('Coding');
  answers.set(`PUT ${path}`, 409);
  const err = await api.replaceTaskStatus(t, { phase: 'Running' }, 'team-a/fizzbuzz').catch((e: unknown) => e);
  expect(httpCode(err)).toBe(409);
});

test('every write is counted with the status the apiserver sent, and against its task', async () => {
  answers.set('POST /api/v1/namespaces/ns/configmaps', 409);
  expect(await api.createConfigMap('ns', { metadata: { name: 'cm' } }, 'ns/counted')).toBe('exists');
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/autorun_api_writes_total\{[^}]*resource="configmaps"[^}]*code="409"[^}]*\} 1|autorun_api_writes_total\{[^}]*code="409"[^}]*resource="configmaps"[^}]*\} 1/);
  expect(metrics.tally('ns/counted').writesByResource.configmaps).toBe(1);
});
