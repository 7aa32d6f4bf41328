/**
 * safetensors reading (and a small writer for fixtures) over random-access byte sources, so the
 * same code reads a local file in Node, an HTTP Range source in a worker, or memory in tests.
 * Reads are exactly the bytes needed (a tensor, or a block of its rows), except the header.
 * Format: u64 little-endian header length, a JSON header { name: { dtype, shape, data_offsets } },
 * then the tensor bytes (offsets relative to the end of the header).
 */
import type { CodedError } from '../lib/errors.ts';
import { bfloat16ToFloat32, float16ToFloat32 } from '../lib/float16.ts';

export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export type SafetensorsDtype = 'BF16' | 'F16' | 'F32';
const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { BF16: 2, F16: 2, F32: 4 };

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range inside the file. */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error implements CodedError {
  readonly errorCode = 'conversion-failed';

  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Headers above this are not real checkpoints (HF caps them at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/**
 * The header is read with one read of this many bytes when it fits (a Llama checkpoint's is
 * ~30 KB), not a read of its 8-byte length and then another: over HTTP that is one request.
 */
export const HEADER_PREFIX_BYTES = 64 * 1024;
/** Tensors in one file: a Llama checkpoint has ~10 per layer. */
const MAX_TENSORS = 100_000;
/** Dimensions of one tensor. */
const MAX_RANK = 8;

export async function readSafetensorsHeader(source: ByteSource): Promise<Map<string, TensorInfo>> {
  if (source.size < 8) throw new SafetensorsError('File too small to be safetensors.');
  const prefix = await source.read(0, Math.min(source.size, HEADER_PREFIX_BYTES));
  const headerLength = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > source.size) {
    throw new SafetensorsError(`Invalid safetensors header length ${headerLength}.`);
  }
  const headerBytes = 8 + headerLength <= prefix.length ? prefix.subarray(8, 8 + headerLength) : await source.read(8, headerLength);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch {
    throw new SafetensorsError('The safetensors header is not valid JSON.');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('The safetensors header is not a JSON object.');
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__');
  if (entries.length > MAX_TENSORS) throw new SafetensorsError(`The safetensors header lists ${entries.length} tensors, more than ${MAX_TENSORS}.`);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of entries) {
    if (typeof entry !== 'object' || entry === null) throw new SafetensorsError(`Tensor "${name}" has no entry.`);
    if (!(entry.dtype in BYTES_PER_ELEMENT)) {
      throw new SafetensorsError(`Tensor "${name}" has dtype ${entry.dtype}; only BF16, F16 and F32 are supported.`);
    }
    const dtype = entry.dtype as SafetensorsDtype;
    const shape: unknown = entry.shape;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`Tensor "${name}" has an invalid shape.`);
    }
    const offsets: unknown = entry.data_offsets;
    // Offsets: two integers, not negative, in order, inside the file (checked before anything is read by them).
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(`Tensor "${name}" has invalid data offsets.`);
    }
    const [from, to] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (to - from !== elements * BYTES_PER_ELEMENT[dtype] || dataStart + to > source.size) {
      throw new SafetensorsError(`Tensor "${name}" has inconsistent offsets (file truncated?).`);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin: dataStart + from, end: dataStart + to });
  }
  // No two tensors share bytes (the format packs them back to back).
  const ranges = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].begin < ranges[i - 1].end) throw new SafetensorsError(`Tensors "${ranges[i - 1].name}" and "${ranges[i].name}" overlap.`);
  }
  return tensors;
}

/** Reads one tensor and decodes it to float32. */
export async function readTensorAsFloat32(source: ByteSource, info: TensorInfo): Promise<Float32Array> {
  return readTensorElementsAsFloat32(source, info, 0, (info.end - info.begin) / BYTES_PER_ELEMENT[info.dtype]);
}

/** Reads `count` consecutive elements (row-major) of a tensor from element `first`, as float32. */
export async function readTensorElementsAsFloat32(source: ByteSource, info: TensorInfo, first: number, count: number): Promise<Float32Array> {
  const elementBytes = BYTES_PER_ELEMENT[info.dtype];
  const begin = info.begin + first * elementBytes;
  if (first < 0 || count < 0 || begin + count * elementBytes > info.end) {
    throw new SafetensorsError(`Elements ${first}..${first + count} are outside tensor "${info.name}".`);
  }
  const bytes = await source.read(begin, count * elementBytes);
  // Copy into an aligned buffer: tensor offsets in a file need not be 2- or 4-byte aligned.
  const aligned = bytes.slice().buffer;
  switch (info.dtype) {
    case 'F32':
      return new Float32Array(aligned);
    case 'F16':
      return float16ToFloat32(new Uint16Array(aligned));
    case 'BF16':
      return bfloat16ToFloat32(new Uint16Array(aligned));
  }
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Raw little-endian element bytes. */
  data: Uint8Array;
}

/** Encodes tensors as one safetensors file (header padded to 8 bytes, as HF's writer does). */
export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(t.data, position);
    position += t.data.length;
  }
  return out;
}
