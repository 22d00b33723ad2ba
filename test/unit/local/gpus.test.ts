import { detectGpus, GpuAllocator } from '../../../operator/src/local/gpus.js';

describe('gpus', () => {
  test('nvidia-smi -L lists the devices', () => {
    const out = 'GPU 0: NVIDIA L4 (UUID: GPU-aaa)\nGPU 1: NVIDIA L4 (UUID: GPU-bbb)\n';
    expect(detectGpus({}, () => out)).toEqual(['0', '1']);
  });

  test('no nvidia-smi means no GPUs', () => {
    expect(
      detectGpus({}, () => {
        throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
      }),
    ).toEqual([]);
  });

  test('CUDA_VISIBLE_DEVICES set by the user wins', () => {
    expect(detectGpus({ CUDA_VISIBLE_DEVICES: '2,3' }, () => 'GPU 0: x\n')).toEqual(['2', '3']);
    expect(detectGpus({ CUDA_VISIBLE_DEVICES: '' }, () => 'GPU 0: x\n')).toEqual([]);
  });

  test('the allocator hands out whole free devices', () => {
    const a = new GpuAllocator(['0', '1']);
    expect(a.canTake(1)).toBe(true);
    const first = a.take(1);
    expect(first).toEqual(['0']);
    expect(a.canTake(2)).toBe(false);
    expect(a.take(0)).toEqual([]);
    a.release(first);
    expect(a.take(4)).toEqual(['1', '0']); // more than the machine has: all of them
    expect(a.canTake(1)).toBe(false);
    expect(new GpuAllocator([]).canTake(8)).toBe(true); // no GPUs: runs without
  });
});
