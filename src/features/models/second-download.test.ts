import { describe, expect, it } from 'vitest';
import { secondDownloadOf } from './second-download.ts';

const wasm = { kind: 'wasm', shaderF16: false } as const;
const gpu = { kind: 'webgpu', shaderF16: false } as const;
const model = (dtype: 'q4' | 'q4f16' | 'q8', status = 'complete', modelKey = 'kanana') => ({ modelKey, dtype, status });

describe('secondDownloadOf', () => {
  it('is nothing when no precision of the model is stored (a first download)', () => {
    expect(secondDownloadOf('kanana', 'q8', wasm, null, [model('q4f16', 'complete', 'other')])).toBeNull();
    expect(secondDownloadOf('kanana', 'q8', wasm, null, [model('q4f16', 'partial')])).toBeNull();
  });

  it('is nothing when the precision is stored, or partly stored (a resume)', () => {
    expect(secondDownloadOf('kanana', 'q8', wasm, null, [model('q4f16'), model('q8')])).toBeNull();
    expect(secondDownloadOf('kanana', 'q8', wasm, null, [model('q4f16'), model('q8', 'partial')])).toBeNull();
  });

  it('says so for CPU after GPU: q4f16 stored, which WebAssembly does not run', () => {
    expect(secondDownloadOf('kanana', 'q8', wasm, null, [model('q4f16')])).toEqual({
      dtype: 'q8',
      device: 'wasm',
      storedDtypes: ['q4f16'],
      usableDtype: null,
      otherDevice: null,
    });
    // The GPU runs it where it has shader-f16: Run on → GPU is the way back to the stored copy.
    expect(secondDownloadOf('kanana', 'q8', wasm, { kind: 'webgpu', shaderF16: true }, [model('q4f16')])).toMatchObject({ otherDevice: 'webgpu' });
    expect(secondDownloadOf('kanana', 'q8', wasm, gpu, [model('q4f16')])).toMatchObject({ otherDevice: null });
  });

  it('offers the stored precision when the device runs it', () => {
    expect(secondDownloadOf('kanana', 'q8', wasm, null, [model('q4f16'), model('q4')])).toMatchObject({ storedDtypes: ['q4f16', 'q4'], usableDtype: 'q4' });
    expect(secondDownloadOf('kanana', 'q4', gpu, wasm, [model('q8')])).toMatchObject({ device: 'webgpu', usableDtype: null, otherDevice: 'wasm' });
  });
});
