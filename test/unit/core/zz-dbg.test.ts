import { decide } from '../../../operator/src/core/loop.js';
import { input, world } from './driver.js';
test('dbg', () => {
  const w = world();
  const a = decide(input(w)); w.status = a.status;
  w.observed = [{ name: 'fizzbuzz-i1-code-a0', iteration: 1, role: 'code', attempt: 0, state: 'Pending', startTime: '2030-01-01T00:00:00.000Z' }, { name: 'fizzbuzz-i1-test-a0', iteration: 1, role: 'test', attempt: 0, state: 'Pending', startTime: '2030-01-01T00:00:00.000Z' }];
  const b = decide(input(w));
  console.log(JSON.stringify(a.status), '\n', JSON.stringify(b.status));
});
