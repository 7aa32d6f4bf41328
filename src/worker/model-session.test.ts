import { describe, expect, it } from 'vitest';
import { readBlobInto } from './model-session.ts';

describe('readBlobInto', () => {
  it('fills one buffer from several blobs at their offsets, through BYOB reads that transfer it', async () => {
    const parts = [70_001, 65_536, 12_345].map((size, k) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + k * 31) & 255));
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    const target = { bytes: new Uint8Array(total) };
    let offset = 0;
    for (const part of parts) {
      await readBlobInto(new Blob([part]), target, offset);
      offset += part.length;
    }
    expect(target.bytes.length).toBe(total);
    let at = 0;
    for (const part of parts) {
      expect(target.bytes.subarray(at, at + part.length)).toEqual(part);
      at += part.length;
    }
  });
});
