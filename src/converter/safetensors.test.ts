import { describe, expect, it } from 'vitest';
import { encodeSafetensors, memorySource, readSafetensorsHeader, readTensorAsFloat32, SafetensorsError } from './safetensors.ts';
import { toFloat16 } from '../lib/float16.ts';

function bytesOf(array: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

describe('safetensors', () => {
  const f32 = new Float32Array([1.5, -2, 3.25, 0]);
  const bf16 = new Uint16Array([0x3f80, 0x4040]); // 1, 3
  const f16 = toFloat16(new Float32Array([0.5, -4]));
  const file = encodeSafetensors([
    { name: 'a', dtype: 'F32', shape: [2, 2], data: bytesOf(f32) },
    { name: 'b', dtype: 'BF16', shape: [2], data: bytesOf(bf16) },
    { name: 'c', dtype: 'F16', shape: [1, 2], data: bytesOf(f16) },
  ]);

  it('round-trips every supported dtype, including at odd offsets', async () => {
    const source = memorySource(file);
    const header = await readSafetensorsHeader(source);
    expect([...header.keys()]).toEqual(['a', 'b', 'c']);
    expect(header.get('a')?.shape).toEqual([2, 2]);
    expect(Array.from(await readTensorAsFloat32(source, header.get('a')!))).toEqual([1.5, -2, 3.25, 0]);
    expect(Array.from(await readTensorAsFloat32(source, header.get('b')!))).toEqual([1, 3]);
    expect(Array.from(await readTensorAsFloat32(source, header.get('c')!))).toEqual([0.5, -4]);
  });

  it('reads the header length as little-endian u64 with an 8-byte aligned header', () => {
    const length = Number(new DataView(file.buffer).getBigUint64(0, true));
    expect(length % 8).toBe(0);
    expect(JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length))).__metadata__).toEqual({ format: 'pt' });
  });

  it('rejects truncated files and unsupported dtypes clearly', async () => {
    await expect(readSafetensorsHeader(memorySource(file.subarray(0, file.length - 2)))).rejects.toThrow(SafetensorsError);
    const int8 = encodeSafetensors([{ name: 'q', dtype: 'F32', shape: [1], data: new Uint8Array(4) }]);
    const text = new TextDecoder().decode(int8).replace('"F32"', '"I8" ');
    await expect(readSafetensorsHeader(memorySource(new TextEncoder().encode(text)))).rejects.toThrow(/only BF16, F16 and F32/);
  });

  /** A file with a hand-written header (8-byte length, JSON) and `dataBytes` zero bytes after it. */
  function crafted(header: Record<string, unknown>, dataBytes = 16): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + dataBytes);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    return bytes;
  }

  it.each([
    ['negative offsets', { t: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }],
    ['offsets out of order', { t: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }],
    ['offsets past the end of the file', { t: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }],
    ['fractional offsets', { t: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }],
    ['offsets that are not numbers', { t: { dtype: 'F32', shape: [1], data_offsets: ['0', '4'] } }],
    ['a negative dimension', { t: { dtype: 'F32', shape: [-1, -4], data_offsets: [0, 16] } }],
    ['a shape that is not a list', { t: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }],
    ['overlapping tensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }],
    ['a header that is a list', [1, 2]],
  ])('refuses %s before reading any tensor', async (_, header) => {
    await expect(readSafetensorsHeader(memorySource(crafted(header as Record<string, unknown>)))).rejects.toThrow(SafetensorsError);
  });

  it('refuses a header listing more tensors than any checkpoint has', async () => {
    const header = Object.fromEntries(Array.from({ length: 100_001 }, (_, i) => [`t${i}`, { dtype: 'F32', shape: [0], data_offsets: [0, 0] }]));
    await expect(readSafetensorsHeader(memorySource(crafted(header)))).rejects.toThrow(/more than 100000/);
  });
});
