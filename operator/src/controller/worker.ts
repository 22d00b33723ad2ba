// What a worker does with the outcome of one reconcile (result.ts): the queueing that
// controller-runtime's reconcileHandler does, here so that reconcile only says what it wants.
import { errText } from './informer.js';
import type { WorkQueue } from './queue.js';
import { StaleCacheError } from './reconcile.js';
import { disposition, type Result } from './result.js';
import type { Logger } from '../util/log.js';

export function settle(queue: Pick<WorkQueue, 'forget' | 'addAfter' | 'addRateLimited' | 'done' | 'len'>, key: string, outcome: { result: Result } | { error: unknown }, log: Logger, ms: number): void {
  try {
    const d = disposition(outcome);
    switch (d.kind) {
      case 'forget':
        queue.forget(key);
        log.debug('reconciled', { key, ms: +ms.toFixed(1), queued: queue.len() });
        break;
      case 'requeueAfter':
        queue.forget(key);
        queue.addAfter(key, d.ms);
        log.debug('reconciled', { key, ms: +ms.toFixed(1), queued: queue.len(), requeueInMs: Math.round(d.ms) });
        break;
      case 'backoff': {
        const err = (outcome as { error: unknown }).error;
        const delay = queue.addRateLimited(key);
        log.log(err instanceof StaleCacheError ? 'debug' : 'warn', 'reconcile failed, retrying', { key, err: errText(err), retryInMs: delay });
        break;
      }
      case 'drop':
        // Not retried: the next event of the object brings it back.
        queue.forget(key);
        log.error('reconcile failed for good, not retrying', { key, err: errText((outcome as { error: unknown }).error) });
        break;
    }
  } finally {
    queue.done(key);
  }
}
