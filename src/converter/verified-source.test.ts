import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, readSafetensorsHeader, readTensorElementsAsFloat32, type ByteSource, type TensorInfo } from './safetensors.ts';
import { safetensorsUnits, SourceMismatchError, VerifiedSource } from './verified-source.ts';

/** Three 40 KB tensors, so the 64 KiB header read covers only part of the data. */
function checkpointFile(): Uint8Array {
  const tensor = (seed: number) => {
    const values = new Float32Array(10_000).map((_, i) => Math.sin(i * seed));
    return new Uint8Array(values.buffer);
  };
  return encodeSafetensors([
    { name: 'a', dtype: 'F32', shape: [100, 100], data: tensor(1) },
    { name: 'b', dtype: 'F32', shape: [100, 100], data: tensor(2) },
    { name: 'c', dtype: 'F32', shape: [100, 100], data: tensor(3) },
  ]);
}

/** A memory source that logs its reads and can invert one byte in the `nth` read (counting from 0) that carries it. */
function flakySource(bytes: Uint8Array, flip?: { offset: number; nth: number }) {
  const reads: [number, number][] = [];
  let carried = 0;
  const source: ByteSource = {
    size: bytes.length,
    read: (offset, length) => {
      reads.push([offset, length]);
      const out = bytes.slice(offset, offset + length);
      if (flip && flip.offset >= offset && flip.offset < offset + length && carried++ === flip.nth) out[flip.offset - offset] ^= 0xff;
      return Promise.resolve(out);
    },
  };
  return { source, reads };
}

/** Reads like the converter: the header, then each named tensor from its first row, in blocks of 30 rows. */
async function convertLike(source: ByteSource, order: string[]): Promise<Map<string, Float32Array>> {
  const header = await readSafetensorsHeader(source);
  const out = new Map<string, Float32Array>();
  for (const name of order) {
    const info: TensorInfo = header.get(name)!;
    const values = new Float32Array(10_000);
    for (let row = 0; row < 100; row += 30) {
      const count = Math.min(30, 100 - row);
      values.set(await readTensorElementsAsFloat32(source, info, row * 100, count * 100), row * 100);
    }
    out.set(name, values);
  }
  return out;
}

describe('VerifiedSource', () => {
  const file = checkpointFile();
  const digest = bytesToHex(sha256(file));

  it('finds the units of a safetensors file once its first bytes hold the whole header', async () => {
    const header = await readSafetensorsHeader({ size: file.length, read: (o, l) => Promise.resolve(file.slice(o, o + l)) });
    const dataStart = header.get('a')!.begin;
    expect(safetensorsUnits(file.subarray(0, 4), file.length)).toBeNull();
    expect(safetensorsUnits(file.subarray(0, dataStart - 1), file.length)).toBeNull();
    expect(safetensorsUnits(file.subarray(0, dataStart), file.length)).toEqual([
      { begin: 0, end: 8 },
      { begin: 8, end: dataStart },
      ...['a', 'b', 'c'].map((n) => ({ begin: header.get(n)!.begin, end: header.get(n)!.end })),
    ]);
  });

  it('reads out of file order, hashing each gap once, and matches the published digest', async () => {
    const { source, reads } = flakySource(file);
    const checked = await VerifiedSource.open(source, 'model.safetensors', digest);
    const tensors = await convertLike(checked, ['c', 'a', 'b']);
    await checked.finish();
    expect(checked.frontier).toBe(file.length);
    // Reading c first passed a and b unread by the converter: hashed once in the gap, read again for conversion.
    expect(checked.gapBytes).toBeGreaterThan(0);
    expect(checked.gapBytes).toBeLessThan(file.length);
    expect(reads.reduce((sum, [, l]) => sum + l, 0)).toBe(65536 + checked.gapBytes + 3 * 40_000);
    const plain = await convertLike(flakySource(file).source, ['a', 'b', 'c']);
    expect(tensors).toEqual(plain);
  });

  it('refuses a file whose bytes do not hash to the published digest', async () => {
    const checked = await VerifiedSource.open(flakySource(file).source, 'model.safetensors', bytesToHex(sha256(file.subarray(1))));
    await convertLike(checked, ['a', 'b']);
    await expect(checked.finish()).rejects.toThrow(SourceMismatchError);
  });

  for (const [where, flip] of [
    ['in the transfer the file pass hashed (read in order)', { nth: 0, tensor: 'c' }],
    ['in a gap the file pass read ahead of the converter', { nth: 0, tensor: 'b' }],
    ['in the converter’s own read behind the file pass', { nth: 1, tensor: 'b' }],
  ] as const) {
    it(`catches a byte flipped ${where}`, async () => {
      const offset = tensorRange(file, flip.tensor).begin + 30_000; // past the 64 KiB header read for b;
      const { source } = flakySource(file, { offset, nth: flip.nth });
      const checked = await VerifiedSource.open(source, 'model.safetensors', digest);
      const error = await (async () => {
        await convertLike(checked, ['c', 'a', 'b']);
        await checked.finish();
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SourceMismatchError);
      expect((error as SourceMismatchError).errorCode).toBe('verification-failed');
    });
  }

  it('goes on from a saved state, and still checks the bytes re-read after it (the header included)', async () => {
    const first = await VerifiedSource.open(flakySource(file).source, 'model.safetensors', digest);
    await convertLike(first, ['b']);
    const saved = JSON.parse(JSON.stringify(first.exportState())) as ReturnType<VerifiedSource['exportState']>;
    expect(saved!.file.length).toBe(tensorRange(file, 'b').end);

    const { source, reads } = flakySource(file);
    const resumed = await VerifiedSource.open(source, 'model.safetensors', digest, saved);
    expect(resumed.frontier).toBe(saved!.file.length);
    await convertLike(resumed, ['c']);
    await resumed.finish();
    expect(reads.some(([offset]) => offset === tensorRange(file, 'b').end)).toBe(true); // c at the frontier, not from 0

    // A byte of the header flipped in the resumed run's header read (behind the saved frontier).
    const corrupt = await VerifiedSource.open(flakySource(file, { offset: 20, nth: 0 }).source, 'model.safetensors', digest, saved);
    await expect(convertLike(corrupt, ['c'])).rejects.toThrow(SourceMismatchError);
  });

  it('starts over from a state made for another digest or in an unknown form', async () => {
    const first = await VerifiedSource.open(flakySource(file).source, 'model.safetensors', digest);
    await convertLike(first, ['a']);
    const saved = first.exportState()!;
    expect((await VerifiedSource.open(flakySource(file).source, 'x', '0'.repeat(64), saved)).frontier).toBe(0);
    expect((await VerifiedSource.open(flakySource(file).source, 'x', digest, { ...saved, file: { ...saved.file, state: 'zz' } })).frontier).toBe(0);
  });
});

function tensorsStart(file: Uint8Array): number {
  return 8 + Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
}

function tensorRange(file: Uint8Array, name: string): { begin: number; end: number } {
  const index = ['a', 'b', 'c'].indexOf(name);
  const begin = tensorsStart(file) + index * 40_000;
  return { begin, end: begin + 40_000 };
}
