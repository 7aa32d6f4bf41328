/**
 * SHA-256 whose running state can be saved and restored, so a conversion interrupted in the middle
 * of an external-data chunk resumes hashing it without reading back the bytes already written.
 * A thin subclass of @noble/hashes' SHA-256, which has no state export of its own: the state is
 * the eight chaining words, the bytes of the unfinished 64-byte block and the total length (the
 * protected members are typed, so a change in the library fails the type check, not the hash).
 */
import { _SHA256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/** A JSON-serialisable snapshot of a SHA-256 computation in progress. */
export interface Sha256State {
  /** The chaining words after the last complete 64-byte block. */
  words: number[];
  /** Bytes hashed so far. */
  length: number;
  /** The bytes of the unfinished block, as hex (fewer than 64 bytes). */
  pending: string;
}

const BLOCK_BYTES = 64;

export class Sha256StateError extends Error {
  readonly code = 'invalid-hash-state';
  constructor(message: string) {
    super(message);
    this.name = 'Sha256StateError';
  }
}

export class ResumableSha256 extends _SHA256 {
  exportState(): Sha256State {
    return { words: this.get(), length: this.length, pending: bytesToHex(this.buffer.subarray(0, this.pos)) };
  }

  static fromState(state: Sha256State): ResumableSha256 {
    const pending = hexToBytes(state.pending);
    const valid =
      state.words.length === 8 &&
      state.words.every((w) => Number.isInteger(w) && w >= -(2 ** 31) && w < 2 ** 32) &&
      Number.isSafeInteger(state.length) &&
      pending.length < BLOCK_BYTES &&
      (state.length - pending.length) % BLOCK_BYTES === 0 &&
      state.length >= pending.length;
    if (!valid) throw new Sha256StateError('Saved SHA-256 state is malformed.');
    const hash = new ResumableSha256();
    const [a, b, c, d, e, f, g, h] = state.words;
    hash.set(a, b, c, d, e, f, g, h);
    hash.buffer.set(pending);
    hash.pos = pending.length;
    hash.length = state.length;
    return hash;
  }
}
