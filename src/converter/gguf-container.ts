/** The GGUF v3 container: ggml tensor types and their sizes, metadata value types, and the header layout (gguf.h). */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** ggml tensor types (ggml.h `enum ggml_type`) that this writer produces. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
}

export const Q4_0_BLOCK = 32;
/** fp16 scale + 16 bytes of nibbles (ggml-common.h `block_q4_0`). */
export const Q4_0_BLOCK_BYTES = 2 + Q4_0_BLOCK / 2;

export const Q8_0_BLOCK = 32;
/** fp16 scale + 32 int8 values (ggml-common.h `block_q8_0`). */
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

export function ggmlTensorBytes(type: GgmlType, elements: number): number {
  switch (type) {
    case GgmlType.F32:
      return elements * 4;
    case GgmlType.F16:
      return elements * 2;
    case GgmlType.Q4_0:
      return (elements / Q4_0_BLOCK) * Q4_0_BLOCK_BYTES;
    case GgmlType.Q8_0:
      return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

/** GGUF metadata value types (gguf.h `enum gguf_type`). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GgufValue =
  | { type: GgufValueType.UINT32 | GgufValueType.INT32 | GgufValueType.FLOAT32; value: number }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.STRING; value: readonly string[] }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.INT32; value: ArrayLike<number> };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  string: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  strings: (value: readonly string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value }),
};

/** One tensor as GGUF describes it: dims innermost first (ne[0] = a row's length). */
export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: GgmlType;
}

export class GgufError extends Error {
  constructor(
    readonly code: 'bad-type' | 'bad-shape' | 'unsupported-tokenizer' | 'missing-tensor' | 'size-mismatch',
    message: string,
  ) {
    super(message);
    this.name = 'GgufError';
  }
}

// ---------------------------------------------------------------------------------------------
// Number formats

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  length = 0;
  private readonly encoder = new TextEncoder();

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): void {
    this.reserve(1);
    this.view.setUint8(this.length++, v);
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  /** gguf_string: u64 byte length, then UTF-8 bytes (no terminator). */
  string(s: string): void {
    const encoded = this.encoder.encode(s);
    this.u64(encoded.length);
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }
  padTo(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function writeValue(w: ByteWriter, value: GgufValue): void {
  w.u32(value.type);
  switch (value.type) {
    case GgufValueType.UINT32:
      return w.u32(value.value);
    case GgufValueType.INT32:
      return w.i32(value.value);
    case GgufValueType.FLOAT32:
      return w.f32(value.value);
    case GgufValueType.BOOL:
      return w.u8(value.value ? 1 : 0);
    case GgufValueType.STRING:
      return w.string(value.value);
    case GgufValueType.ARRAY:
      w.u32(value.itemType);
      w.u64(value.value.length);
      if (value.itemType === GgufValueType.STRING) for (const s of value.value) w.string(s);
      else for (let i = 0; i < value.value.length; i++) w.i32(value.value[i]);
  }
}

export interface GgufLayout {
  /** Magic, version, counts, metadata and tensor infos, zero-padded to the alignment. */
  header: Uint8Array;
  /** Each tensor's offset from the start of the data section (the end of `header`). */
  offsets: number[];
  /** Each tensor's byte size (before padding). */
  sizes: number[];
  /** Header plus all tensor data with its padding: the file size. */
  fileBytes: number;
}

/** Lays out a GGUF v3 file: the header bytes and where each tensor's data goes. */
export function layoutGguf(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorInfo[], alignment = GGUF_ALIGNMENT): GgufLayout {
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(metadata.size);
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, value);
  }
  const offsets: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (t.type === GgmlType.Q4_0 && t.dims[0] % Q4_0_BLOCK !== 0) {
      throw new GgufError('bad-shape', `${t.name}: Q4_0 rows must be a multiple of ${Q4_0_BLOCK} long, got ${t.dims[0]}.`);
    }
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(offset);
    offsets.push(offset);
    const size = ggmlTensorBytes(t.type, elements);
    sizes.push(size);
    offset += size + ((alignment - (size % alignment)) % alignment);
  }
  w.padTo(alignment);
  const header = w.result();
  return { header, offsets, sizes, fileBytes: header.length + offset };
}
