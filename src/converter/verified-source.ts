/**
 * A safetensors ByteSource checked against the file's published SHA-256 (the Hub's LFS sha256),
 * so a byte flipped in transit cannot end up in a converted model.
 *
 * The converter reads tensors in plan order (embedding, layer 0, 1, 2, …), not in file order
 * (the Hub's files are sorted by name: lm_head first, layer 10 before layer 2), and a SHA-256
 * cannot be combined from pieces. So two hashes run side by side:
 * - the file pass: every byte of the file in order, once. A read at the frontier (the first byte
 *   not yet hashed) is hashed as it is handed to the converter; a read ahead of it first streams
 *   the gap through the hash (read, hashed, dropped). While passing, it records the digest of
 *   each unit (the 8-byte length, the JSON header, each tensor). When the frontier reaches the
 *   end, the file's digest must equal the published one.
 * - the consumed check: the bytes the converter actually gets are hashed per unit, and when a
 *   unit is complete its digest must equal the file pass's. Bytes read behind the frontier come
 *   from another transfer than the hashed ones; this ties them to the file's digest.
 * Either mismatch throws SourceMismatchError: the caller discards what it converted and starts
 * over. The converter reads each tensor from its first byte, in order, in row blocks, which is
 * what the consumed check needs; a read starting inside a unit where no read left off is refused.
 *
 * The state (file pass and recorded unit digests) is plain JSON, saved with the conversion's
 * state, so a resumed conversion neither re-hashes nor trusts unchecked bytes.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { CodedError } from '../lib/errors.ts';
import { ResumableSha256, Sha256StateError, type Sha256State } from '../lib/resumable-sha256.ts';
import type { ByteSource } from './safetensors.ts';

/** Bytes per read when streaming a gap through the file pass (bounds memory). */
const GAP_READ_BYTES = 16 * 1024 * 1024;
const STATE_FORMAT = 1;

export class SourceMismatchError extends Error implements CodedError {
  readonly errorCode = 'verification-failed';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'SourceMismatchError';
  }
}

/** A checked byte range: the header's length, the header, or a tensor. */
export interface SourceUnit {
  begin: number;
  end: number;
  /** The file pass's digest of the unit (hex), once it has passed it. */
  sha256?: string;
}

export interface SourceCheckState {
  format: typeof STATE_FORMAT;
  /** The published digest the state was made against. */
  expected: string;
  /** Bytes [0, file.length) hashed in order. */
  file: Sha256State;
  units: SourceUnit[];
  /** The file pass's hash of the unit it is inside, if any. */
  unit: Sha256State | null;
}

/** The units of a safetensors file from its first bytes, or null while they do not hold the whole header. */
export function safetensorsUnits(prefix: Uint8Array, size: number): SourceUnit[] | null {
  if (prefix.length < 8) return null;
  const headerLength = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  const dataStart = 8 + headerLength;
  if (dataStart > size) return [{ begin: 0, end: 8 }]; // not safetensors; the converter refuses it, the file hash still checks it
  if (prefix.length < dataStart) return null;
  let header: Record<string, { data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(prefix.subarray(8, dataStart))) as typeof header;
  } catch {
    return [{ begin: 0, end: 8 }];
  }
  const tensors = Object.entries(header)
    .filter(([name, t]) => name !== '__metadata__' && Array.isArray(t?.data_offsets))
    .map(([, t]) => ({ begin: dataStart + Number(t.data_offsets![0]), end: dataStart + Number(t.data_offsets![1]) }))
    .filter((u) => Number.isSafeInteger(u.begin) && u.end > u.begin && u.end <= size)
    .sort((a, b) => a.begin - b.begin);
  // Overlapping tensors cannot each be checked from their first byte; keep the first of each overlap.
  const units: SourceUnit[] = [
    { begin: 0, end: 8 },
    { begin: 8, end: dataStart },
  ];
  for (const t of tensors) if (t.begin >= units[units.length - 1].end) units.push(t);
  return units.filter((u) => u.end > u.begin);
}

/** Units overlapping [start, end), in order, with the overlap. */
function* overlaps(units: SourceUnit[], start: number, end: number): Generator<{ unit: SourceUnit; from: number; to: number }> {
  let lo = 0;
  let hi = units.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (units[mid].end <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < units.length && units[i].begin < end; i++) {
    yield { unit: units[i], from: Math.max(start, units[i].begin), to: Math.min(end, units[i].end) };
  }
}

export class VerifiedSource implements ByteSource {
  readonly size: number;
  /** Bytes read only to be hashed (gaps ahead of the converter's reads). */
  gapBytes = 0;
  /** The file's first bytes, kept until they hold the whole header (the units are not known before). */
  private prefix: Uint8Array[] = [];
  /** The consumed check of each unit being read: where the converter's reads have got to. */
  private readonly consumed = new Map<SourceUnit, { hash: ResumableSha256; at: number }>();
  private verified = false;

  private constructor(
    private readonly inner: ByteSource,
    readonly name: string,
    private readonly expected: string,
    private readonly file: ResumableSha256,
    private units: SourceUnit[] | null,
    private unitHash: ResumableSha256 | null,
  ) {
    this.size = inner.size;
  }

  /** Checks `inner` against `sha256` (hex), going on from `saved` when it is usable (else from the start). */
  static async open(inner: ByteSource, name: string, sha256: string, saved?: SourceCheckState | null): Promise<VerifiedSource> {
    const expected = sha256.toLowerCase();
    if (saved && saved.format === STATE_FORMAT && saved.expected === expected && Array.isArray(saved.units)) {
      try {
        const file = await ResumableSha256.create(saved.file);
        const unit = saved.unit ? await ResumableSha256.create(saved.unit) : null;
        if (file.length <= inner.size) return new VerifiedSource(inner, name, expected, file, saved.units, unit);
      } catch (error) {
        if (!(error instanceof Sha256StateError)) throw error;
      }
    }
    return new VerifiedSource(inner, name, expected, await ResumableSha256.create(), null, null);
  }

  /** Bytes hashed by the file pass so far. */
  get frontier(): number {
    return this.file.length;
  }

  /** The state to save beside the conversion's; null before the header has passed (nothing worth keeping). */
  exportState(): SourceCheckState | null {
    if (!this.units) return null;
    return { format: STATE_FORMAT, expected: this.expected, file: this.file.exportState(), units: this.units, unit: this.unitHash?.exportState() ?? null };
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length > this.size) return this.inner.read(offset, length); // the inner source refuses it
    if (offset > this.frontier) await this.passGap(offset);
    const behind = Math.max(0, Math.min(length, this.frontier - offset));
    const parts: Uint8Array[] = [];
    if (behind > 0) parts.push(await this.inner.read(offset, behind));
    if (behind < length) {
      const ahead = await this.inner.read(offset + behind, length - behind);
      await this.pass(ahead);
      parts.push(ahead);
    }
    const bytes = parts.length === 1 ? parts[0] : concat(parts, length);
    await this.consume(offset, bytes);
    return bytes;
  }

  /** Hashes whatever the converter did not read, to the end, and checks the file's digest. */
  async finish(): Promise<void> {
    if (this.frontier < this.size) await this.passGap(this.size);
    if (!this.verified) await this.pass(new Uint8Array(0));
  }

  private async passGap(to: number): Promise<void> {
    while (this.frontier < to) {
      const bytes = await this.inner.read(this.frontier, Math.min(GAP_READ_BYTES, to - this.frontier));
      this.gapBytes += bytes.length;
      await this.pass(bytes);
    }
  }

  /** The file pass over `bytes`, which start at the frontier. */
  private async pass(bytes: Uint8Array): Promise<void> {
    const start = this.frontier;
    this.file.update(bytes);
    if (this.units) await this.passUnits(start, bytes);
    else {
      this.prefix.push(bytes);
      const prefix = concat(this.prefix, this.frontier);
      this.units = safetensorsUnits(prefix, this.size);
      if (this.units) {
        this.prefix = [];
        await this.passUnits(0, prefix);
      } else this.prefix = [prefix];
    }
    if (this.frontier === this.size && !this.verified) {
      const actual = bytesToHex(this.file.digest());
      if (actual !== this.expected) {
        throw new SourceMismatchError(
          this.name,
          `${this.name} does not match its published SHA-256 (${actual} ≠ ${this.expected}): a byte changed in transit.`,
        );
      }
      this.verified = true;
    }
  }

  private async passUnits(start: number, bytes: Uint8Array): Promise<void> {
    for (const { unit, from, to } of overlaps(this.units!, start, start + bytes.length)) {
      if (from === unit.begin) this.unitHash = await ResumableSha256.create();
      if (!this.unitHash) continue; // (a unit already passed before a restored state: cannot happen, the pass is in order)
      this.unitHash.update(bytes.subarray(from - start, to - start));
      if (to === unit.end) {
        unit.sha256 = bytesToHex(this.unitHash.digest());
        this.unitHash = null;
      }
    }
  }

  /** The consumed check of the converter's read [offset, offset + bytes.length). */
  private async consume(offset: number, bytes: Uint8Array): Promise<void> {
    for (const { unit, from, to } of overlaps(this.units!, offset, offset + bytes.length)) {
      let check = this.consumed.get(unit);
      if (from === unit.begin) {
        check = { hash: await ResumableSha256.create(), at: unit.begin };
        this.consumed.set(unit, check);
      }
      if (!check || check.at !== from) {
        // Only the header read's tail runs into a tensor mid-way without checking it: those bytes are not used.
        if (offset === 0) continue;
        throw new Error(`${this.name}: a read at ${from} starts inside a unit [${unit.begin}, ${unit.end}) where no read left off; it cannot be checked.`);
      }
      check.hash.update(bytes.subarray(from - offset, to - offset));
      check.at = to;
      if (to === unit.end) {
        this.consumed.delete(unit);
        const actual = bytesToHex(check.hash.digest());
        if (actual !== unit.sha256) {
          throw new SourceMismatchError(
            this.name,
            `${this.name}: bytes ${unit.begin}-${unit.end} read for conversion differ from the same bytes in the file's checked pass: a byte changed in transit.`,
          );
        }
      }
    }
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
