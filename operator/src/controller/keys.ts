// The work queue's keys: one per object, kind first, so tasks and pools share one queue.
import { TerminalError } from './result.js';

export const taskQueueKey = (ns: string, name: string): string => `task/${ns}/${name}`;
export const poolQueueKey = (ns: string, name: string): string => `pool/${ns}/${name}`;

export function parseQueueKey(key: string): { kind: 'task' | 'pool'; namespace: string; name: string } {
  const [kind, namespace, name] = key.split('/');
  // Retrying a key that cannot be read cannot help.
  if ((kind !== 'task' && kind !== 'pool') || !namespace || !name) throw new TerminalError(`bad queue key ${key}`);
  return { kind, namespace, name };
}
