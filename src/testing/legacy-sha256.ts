/**
 * The SHA-256 state the store and the converter saved before hash-wasm (the pure-JS
 * ResumableSha256 over @noble/hashes: chaining words, bytes hashed, the unfinished block as
 * hex), rebuilt from noble's protected members, so tests can hand the current code a record
 * written by the earlier one.
 */
import { _SHA256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { LegacySha256State } from '../lib/resumable-sha256.ts';

export function legacySha256State(bytes: Uint8Array): LegacySha256State {
  const hash = new (class extends _SHA256 {
    state(): LegacySha256State {
      return { words: this.get(), length: this.length, pending: bytesToHex(this.buffer.subarray(0, this.pos)) };
    }
  })();
  return hash.update(bytes).state();
}
