import { KubeConfig } from '@kubernetes/client-node';
import { ResilientInformer, stripForCache } from '../../../operator/src/controller/informer.js';
import { createLogger } from '../../../operator/src/util/log.js';
import { eventually } from '../../harness/kube.js';

// A CA file that is gone (a rotated mount, a deleted test cluster): client-node cannot even build
// the watch request, and nothing listens on port 1 anyway.
function deadApiserver(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', caFile: '/nonexistent/autorun/ca.crt' }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

test('failing LISTs and watches that cannot even be requested are retried, never an unhandled rejection', async () => {
  let calls = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  const inf = new ResilientInformer<{ metadata: { name: string; namespace: string } }>({
    name: 'things',
    kc: deadApiserver(),
    path: '/api/v1/namespaces/x/things',
    list: async () => {
      calls++;
      if (calls < 3) throw new Error('apiserver unavailable');
      return { items: [{ metadata: { name: 'a', namespace: 'x' } }], metadata: { resourceVersion: '1' } };
    },
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    log: createLogger('test', 'error'),
  });
  try {
    await inf.start();
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.get('a', 'x')?.metadata.name).toBe('a');
    // The watch keeps failing; it is restarted with backoff, and the process lives on.
    await eventually(() => inf.restarts >= 2);
    expect(unhandled).toEqual([]);
  } finally {
    await inf.stop();
    process.off('unhandledRejection', onUnhandled);
  }
});

test('cached objects lose managedFields and kubectl’s last-applied annotation, and keep everything else', () => {
  const applied = 'kubectl.kubernetes.io/last-applied-configuration';
  const obj = {
    metadata: { name: 't', namespace: 'ns', uid: 'u', resourceVersion: '7', generation: 2, managedFields: [{ manager: 'kubectl' }], annotations: { [applied]: '{"spec":{}}', keep: 'me' }, labels: { a: 'b' } },
    spec: { goal: 'g' },
  };
  stripForCache(obj);
  expect(obj).toEqual({ metadata: { name: 't', namespace: 'ns', uid: 'u', resourceVersion: '7', generation: 2, annotations: { keep: 'me' }, labels: { a: 'b' } }, spec: { goal: 'g' } });
  const onlyApplied = { metadata: { name: 'u', annotations: { [applied]: '{}' } } };
  stripForCache(onlyApplied);
  expect(onlyApplied).toEqual({ metadata: { name: 'u' } });
  const plain = { metadata: { name: 'v', annotations: { x: 'y' } } };
  const before = plain.metadata;
  stripForCache(plain);
  // Nothing to strip: the very same metadata object stays.
  expect(plain.metadata).toBe(before);
});
