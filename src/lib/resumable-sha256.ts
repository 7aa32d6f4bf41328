/**
 * SHA-256 whose running state can be saved and restored, so a download or a conversion
 * interrupted in the middle of a file goes on hashing it without reading back the bytes already
 * stored. WebAssembly (hash-wasm, 3-5x the pure-JS speed) because crypto.subtle has no
 * incremental digest.
 *
 * Saved states are tagged with their format: hash-wasm's own state is opaque and refused by
 * another build of it (a 4-byte prefix identifies the WASM binary), and records saved before
 * hash-wasm hold the earlier pure-JS form (`LegacySha256State`). `create()` refuses either with
 * `Sha256StateError`; the caller then starts the hash over from bytes it has (the chunk writer
 * re-hashes its stored chunks) or starts the work over (a conversion) — a state is never guessed.
 *
 * hash-wasm instantiates its module asynchronously, so `create()` is async; everything after
 * it is synchronous.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { createSHA256, type IHasher } from 'hash-wasm';

/** The tag of the current format: hash-wasm's save(), as hex. */
export const SHA256_STATE_FORMAT = 'hash-wasm-sha256';

/** A JSON-serialisable snapshot of a SHA-256 computation in progress. */
export interface Sha256State {
  format: typeof SHA256_STATE_FORMAT;
  /** Bytes hashed so far. */
  length: number;
  /** hash-wasm's saved state (its binary's 4-byte id, then its internal state), as hex. */
  state: string;
}

/** What the pure-JS implementation (@noble/hashes, before hash-wasm) saved: recognised, never resumed. */
export interface LegacySha256State {
  words: number[];
  length: number;
  pending: string;
}

export class Sha256StateError extends Error {
  readonly code = 'invalid-hash-state';
  constructor(message: string) {
    super(message);
    this.name = 'Sha256StateError';
  }
}

const STATE_KEYS = ['format', 'length', 'state'].join();

export class ResumableSha256 {
  private constructor(
    private readonly hasher: IHasher,
    private bytes: number,
  ) {}

  /** A new hash, or one going on from `saved` (throws Sha256StateError when it cannot). */
  static async create(saved?: Sha256State | LegacySha256State): Promise<ResumableSha256> {
    if (saved !== undefined) ResumableSha256.check(saved);
    const hasher = await createSHA256();
    if (saved === undefined) return new ResumableSha256(hasher.init(), 0);
    try {
      hasher.load(hexToBytes(saved.state));
    } catch (error) {
      throw new Sha256StateError(`Saved SHA-256 state is not usable here: ${error instanceof Error ? error.message : String(error)}`);
    }
    return new ResumableSha256(hasher, saved.length);
  }

  /**
   * Throws Sha256StateError unless `saved` has the current format, exactly as exportState()
   * writes it (a synchronous check; create() also makes hash-wasm accept the state itself).
   */
  static check(saved: unknown): asserts saved is Sha256State {
    const state = saved as Partial<Sha256State> | null;
    const valid =
      typeof state === 'object' &&
      state !== null &&
      Object.keys(state).sort().join() === STATE_KEYS &&
      state.format === SHA256_STATE_FORMAT &&
      Number.isSafeInteger(state.length) &&
      state.length! >= 0 &&
      typeof state.state === 'string' &&
      /^(?:[0-9a-f]{2})+$/.test(state.state);
    if (!valid) {
      const legacy = typeof state === 'object' && state !== null && 'words' in state;
      throw new Sha256StateError(legacy ? 'Saved SHA-256 state is in the earlier pure-JS format.' : 'Saved SHA-256 state is malformed.');
    }
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.bytes;
  }

  update(bytes: Uint8Array): this {
    this.hasher.update(bytes);
    this.bytes += bytes.length;
    return this;
  }

  /** Starts over from no bytes (a hasher reused for the next piece of work). */
  reset(): this {
    this.hasher.init();
    this.bytes = 0;
    return this;
  }

  exportState(): Sha256State {
    return { format: SHA256_STATE_FORMAT, length: this.bytes, state: bytesToHex(this.hasher.save()) };
  }

  /** The digest of everything so far. The hash stays usable: it can go on, or be saved. */
  digest(): Uint8Array {
    const state = this.hasher.save();
    const digest = this.hasher.digest('binary');
    this.hasher.load(state);
    return digest;
  }
}
