import { describe, expect, it } from 'vitest';
import { FUSED_MATMUL_STORAGE_BUFFERS, graphOptimizationLevel, NoByobBlob, readBlobInto } from './model-session.ts';

const bytesOf = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed * 31) & 255);

describe('readBlobInto', () => {
  it('fills one buffer from several blobs at their offsets', async () => {
    const parts = [70_001, 65_536, 12_345].map(bytesOf);
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    const target = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      await readBlobInto(new Blob([part]), target, offset);
      offset += part.length;
    }
    let at = 0;
    for (const part of parts) {
      expect(target.subarray(at, at + part.length)).toEqual(part);
      at += part.length;
    }
  });
});

describe('NoByobBlob (what ONNX Runtime reads external data from)', () => {
  const parts = [100_000, 65_536, 3].map(bytesOf);
  const whole = Uint8Array.from(parts.flatMap((part) => [...part]));

  /** ONNX Runtime's JSPI loader: a BYOB reader where the stream allows one, else a default reader. */
  async function readLikeOrt(blob: Blob): Promise<{ bytes: Uint8Array; byob: boolean }> {
    const stream = blob.stream();
    let byob = true;
    try {
      stream.getReader({ mode: 'byob' }).releaseLock();
    } catch {
      byob = false;
    }
    return { bytes: new Uint8Array(await new Response(stream).arrayBuffer()), byob };
  }

  it('gives no BYOB reader, on itself or on any slice, and reads the same bytes', async () => {
    const blob = new NoByobBlob(parts);
    expect(blob).toBeInstanceOf(Blob); // ONNX Runtime takes external data that is `instanceof Blob`
    expect(blob.size).toBe(whole.length);
    expect(await readLikeOrt(blob)).toEqual({ bytes: whole, byob: false });
    // Across the parts' boundaries, and a slice of a slice.
    const slice = blob.slice(99_990, 165_538);
    expect(slice).toBeInstanceOf(NoByobBlob);
    expect(await readLikeOrt(slice)).toEqual({ bytes: whole.subarray(99_990, 165_538), byob: false });
    expect(await readLikeOrt(slice.slice(5, 20))).toEqual({ bytes: whole.subarray(99_995, 100_010), byob: false });
    // A plain Blob would have given one: the class is what changes the reader.
    expect((await readLikeOrt(new Blob(parts))).byob).toBe(true);
  });
});

describe('graphOptimizationLevel', () => {
  const device = (maxStorageBuffersPerShaderStage: number) => ({ limits: { maxStorageBuffersPerShaderStage } as GPUSupportedLimits });

  it('fuses on WASM and on devices that bind enough storage buffers, and not below (WebGPU’s default 8)', () => {
    expect(graphOptimizationLevel(null)).toBe('all');
    expect(graphOptimizationLevel(device(FUSED_MATMUL_STORAGE_BUFFERS))).toBe('all');
    expect(graphOptimizationLevel(device(8))).toBe('basic');
  });
});
