// A client-node informer (makeInformer → ListWatch) made safe to run for months:
// - 410 Gone: ListWatch relists by itself.
// - Any other error: ListWatch STOPS and only reports it; we restart it with exponential backoff,
//   resuming from its last resourceVersion (a too-old one comes back as 410 and relists).
// - Silent stall: a watch that delivers nothing for `quietRelistMs` is replaced by a fresh
//   list + watch; objects missing from the new list are reported deleted, so a missed DELETE
//   cannot leave a ghost in the cache.
// Events of a replacement informer are buffered until its cache is complete and swapped in, so a
// handler never reads a cache older than the event it is handling.
import { makeInformer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';

export type InformerEvent = 'add' | 'update' | 'delete';
type Handler<T> = (event: InformerEvent, obj: T) => void;

/** Any API object: CodingTask's hand-written metadata is not client-node's V1ObjectMeta. */
export type ApiObject = { metadata?: { name?: string; namespace?: string } };

export interface InformerOptions<T extends ApiObject> {
  name: string;
  kc: KubeConfig;
  path: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  labelSelector?: string;
  /** Relist when no object event arrived for this long (a quiet resource costs one LIST per period). */
  quietRelistMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Trims each object in place before it is cached, as client-go's SetTransform (see stripForCache). */
  transform?: (obj: T) => void;
  log: Logger;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What every cached object can do without: managedFields (server-side apply's bookkeeping, often
 * the biggest part of an object) and kubectl's last-applied annotation (a second copy of the spec
 * for every object made by `kubectl apply`). Nothing here reads either, as client-go's
 * TransformStripManagedFields assumes for its users.
 */
export function stripForCache(obj: ApiObject): void {
  const m = obj.metadata as { managedFields?: unknown; annotations?: Record<string, string> } | undefined;
  if (!m || (!('managedFields' in m) && !(m.annotations && LAST_APPLIED in m.annotations))) return;
  // Copies without the fields, not `delete`: deleting a property turns an object into a hash table
  // (V8's dictionary mode), and each task's metadata held a 448-byte one instead of its 72 bytes.
  const { managedFields: _fields, annotations, ...rest } = m;
  const meta: typeof m = rest;
  if (annotations) {
    const { [LAST_APPLIED]: _applied, ...kept } = annotations;
    if (Object.keys(kept).length > 0) meta.annotations = kept;
  }
  obj.metadata = meta as ApiObject['metadata'];
}

type Inner<T extends ApiObject> = {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  on(verb: string, cb: (obj: T) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
};

export class ResilientInformer<T extends ApiObject> {
  private current: Inner<T> | undefined;
  private readonly handlers: Handler<T>[] = [];
  private stopped = true;
  private synced = false;
  private lastEventAt = Date.now();
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private relisting = false;
  private readonly inners = new Set<Inner<T>>();
  /** How many times the informer was restarted after an error or relisted after a stall. */
  restarts = 0;
  relists = 0;

  constructor(private readonly opts: InformerOptions<T>) {}

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.current?.list(namespace) ?? [];
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache (retrying failed lists with backoff). */
  async start(): Promise<void> {
    this.stopped = false;
    const inner = await this.startInner(true);
    if (!inner) return;
    this.current = inner.informer;
    this.synced = true;
    inner.flush();
    const period = this.opts.quietRelistMs ?? 5 * 60_000;
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastEventAt >= period) void this.relist('no event for ' + period + 'ms');
    }, Math.max(10, Math.min(period / 4, 30_000)));
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    await Promise.all([...this.inners].map((i) => i.stop()));
  }

  /** Replaces the informer with a fresh list + watch; exposed for the watchdog and tests. */
  async relist(why: string): Promise<void> {
    if (this.relisting || this.stopped) return;
    this.relisting = true;
    this.lastEventAt = Date.now();
    try {
      this.opts.log.warn('relisting', { informer: this.opts.name, why });
      const next = await this.startInner(false);
      if (!next || this.stopped) {
        await next?.informer.stop();
        return;
      }
      const old = this.current;
      this.current = next.informer;
      this.relists++;
      if (old) {
        await old.stop();
        for (const obj of old.list()) {
          const m = obj.metadata!;
          if (!next.informer.get(m.name!, m.namespace)) this.emit('delete', obj);
        }
      }
      next.flush();
    } finally {
      this.relisting = false;
    }
  }

  private emit(event: InformerEvent, obj: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj);
      } catch (err) {
        this.opts.log.error('informer handler failed', { informer: this.opts.name, err: String(err) });
      }
    }
  }

  /**
   * Starts a new client-node informer and resolves when its first list is cached (undefined if we
   * were stopped first). Its events are buffered until flush(), then forwarded while it is current.
   */
  private startInner(isFirst: boolean): Promise<{ informer: Inner<T>; flush: () => void } | undefined> {
    const { kc, path, list, labelSelector, log, name } = this.opts;
    let listed: (() => void) | undefined;
    const listedOnce = new Promise<void>((r) => (listed = r));
    const informer = makeInformer<KubernetesObject>(
      kc,
      path,
      async () => {
        const result = await list();
        // ListWatch fills its cache synchronously right after this promise settles.
        setImmediate(() => listed?.());
        return result as unknown as KubernetesListObject<KubernetesObject>;
      },
      labelSelector,
    ) as unknown as Inner<T>;
    let buffer: [InformerEvent, T][] | undefined = [];
    let ownStopped = false;
    const forward = (event: InformerEvent) => (obj: T) => {
      // The cache keeps the very object the handler gets: trimmed here, it is trimmed there.
      stripForCache(obj);
      this.opts.transform?.(obj);
      if (ownStopped) return;
      this.lastEventAt = Date.now();
      this.failures = 0;
      if (buffer) buffer.push([event, obj]);
      else if (this.current === informer) this.emit(event, obj);
    };
    informer.on('add', forward('add'));
    informer.on('update', forward('update'));
    informer.on('delete', forward('delete'));
    const onError = (err?: unknown): void => {
      if (ownStopped || this.stopped) return;
      const delay = Math.min((this.opts.backoffBaseMs ?? 500) * 2 ** this.failures, this.opts.backoffMaxMs ?? 30_000);
      this.failures++;
      log.warn('watch failed, restarting', { informer: name, err: errText(err), delayMs: delay });
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => {
        if (ownStopped || this.stopped) return;
        this.restarts++;
        start();
      }, delay);
      this.restartTimer.unref();
    };
    // ListWatch.start() rejects, instead of reporting an error, when the request cannot even be
    // made (a kubeconfig file gone, a failing exec credential, the first LIST failing): unhandled,
    // that would end the process.
    const start = (): void => void informer.start().catch(onError);
    informer.on('error', onError);
    const origStop = informer.stop.bind(informer);
    informer.stop = async () => {
      ownStopped = true;
      this.inners.delete(informer);
      listed?.();
      await origStop();
    };
    this.inners.add(informer);
    start();
    return listedOnce.then(() => {
      if (ownStopped || this.stopped) {
        void informer.stop();
        return undefined;
      }
      if (isFirst) log.info('informer synced', { informer: name, objects: informer.list().length });
      return {
        informer,
        flush: () => {
          const pending = buffer ?? [];
          buffer = undefined;
          for (const [event, obj] of pending) this.emit(event, obj);
        },
      };
    });
  }
}

export function errText(err: unknown): string {
  if (!err) return 'unknown';
  const e = err as { code?: number; statusCode?: number; message?: string; body?: unknown };
  const code = e.code ?? e.statusCode;
  const body = typeof e.body === 'string' ? e.body.slice(0, 300) : '';
  return `${code ? `HTTP ${code}: ` : ''}${e.message ?? String(err)}${body && !e.message?.includes(body) ? ` ${body}` : ''}`;
}
