import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { createRng } from '../model/rng.ts';
import { ResumableSha256, Sha256StateError } from './resumable-sha256.ts';

const data = (() => {
  const rng = createRng(7);
  return Uint8Array.from({ length: 1000 }, () => Math.floor(rng.uniform() * 256));
})();

describe('ResumableSha256', () => {
  it('hashes like sha256 when stopped, serialised through JSON and restored at any split', () => {
    const expected = bytesToHex(sha256(data));
    for (const split of [0, 1, 63, 64, 65, 127, 128, 500, 999, 1000]) {
      const first = new ResumableSha256();
      first.update(data.subarray(0, split));
      const saved = JSON.parse(JSON.stringify(first.exportState()));
      const resumed = ResumableSha256.fromState(saved);
      // Feed the rest in uneven pieces, as the converter's blocks arrive.
      for (let at = split; at < data.length; at += 37) resumed.update(data.subarray(at, Math.min(data.length, at + 37)));
      expect(bytesToHex(resumed.digest()), `split at ${split}`).toBe(expected);
    }
  });

  it('refuses a malformed state', () => {
    const state = new ResumableSha256().update(data.subarray(0, 70)).exportState();
    expect(() => ResumableSha256.fromState({ ...state, length: 71 })).toThrow(Sha256StateError);
    expect(() => ResumableSha256.fromState({ ...state, words: state.words.slice(1) })).toThrow(Sha256StateError);
  });
});
