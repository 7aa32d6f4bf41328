/**
 * How each ONNX weight of a converted model is derived from Hugging Face tensors, and the encoders
 * that produce its bytes. Float copies and the two MatMulNBits parts come from one tensor and are
 * row-local, so they can be produced a block of rows at a time (a 128256-row embedding never has to
 * be in memory whole); a transposed copy (the MatMul weights of fp32/fp16 graphs) needs the whole
 * tensor. A q8 weight (DynamicQuantizeMatMul's int8 [in, out] and its scales) puts each source
 * row, quantized alone, into a column, possibly beside other tensors' rows (q|k|v, gate|up): it is
 * filled block by block, from one or more tensors, and written whole. Pure: no I/O.
 */
import type { Int8Weight } from '../model/dynamic-quantization.ts';
import { DataType } from './onnx-proto.ts';
import { Q4_BLOCK_SIZE, quantizeQ4, quantizeQ8, type Q4Weight } from './quantize.ts';
import { toFloat16 } from '../lib/float16.ts';

export type WeightEncoding =
  /** The values as float32, or rounded to float16. */
  | { kind: 'float'; half: boolean }
  /** A Linear weight [out, in] transposed to [in, out] for MatMul. */
  | { kind: 'transposed'; half: boolean }
  /** MatMulNBits parts of a Linear weight [out, in]: packed nibbles, block scales (symmetric: no zero points). */
  | { kind: 'q4-data' }
  | { kind: 'q4-scales'; half: boolean }
  /** DynamicQuantizeMatMul parts of Linear weights [out_i, in] side by side: int8 [in, Σ out_i], float32 scales [Σ out_i]. */
  | { kind: 'q8-data'; parts: Q8Part[] }
  | { kind: 'q8-scales'; parts: Q8Part[] };

/** One Hugging Face tensor [rows, in] of a q8 weight: its rows become columns column … column + rows − 1. */
export interface Q8Part {
  source: string;
  shape: [number, number];
  column: number;
}

/** One graph weight: its initializer and how its bytes are made from a checkpoint tensor. */
export interface WeightSpec {
  name: string;
  dataType: DataType;
  dims: number[];
  /** The Hugging Face tensor it is made from (a q8 weight: its last part's, the one that completes it). */
  source: string;
  /** The shape that tensor must have. */
  sourceShape: number[];
  encoding: WeightEncoding;
  byteLength: number;
}

const ELEMENT_BYTES: Partial<Record<DataType, number>> = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.UINT8]: 1, [DataType.INT8]: 1 };

export function weightSpec(name: string, dataType: DataType, dims: number[], source: string, sourceShape: number[], encoding: WeightEncoding): WeightSpec {
  const elementBytes = ELEMENT_BYTES[dataType];
  if (elementBytes === undefined) throw new Error(`No weight encoding stores data type ${dataType}.`);
  return { name, dataType, dims, source, sourceShape, encoding, byteLength: dims.reduce((a, b) => a * b, 1) * elementBytes };
}

/** The source viewed as a matrix: 1-D tensors (norm weights) are one row. */
export function sourceMatrix(spec: Pick<WeightSpec, 'sourceShape'>): { rows: number; cols: number } {
  const [first, ...rest] = spec.sourceShape;
  return rest.length === 0 ? { rows: 1, cols: first } : { rows: first, cols: rest.reduce((a, b) => a * b, 1) };
}

/** A q8 weight: filled column by column, from every part, before it is written. */
export const isQ8 = (encoding: WeightEncoding): encoding is Extract<WeightEncoding, { parts: Q8Part[] }> =>
  encoding.kind === 'q8-data' || encoding.kind === 'q8-scales';

/** Made from the whole source tensor at once. */
export const needsWholeTensor = (encoding: WeightEncoding) => encoding.kind === 'transposed';

/** Output bytes per source row of a row-local encoding. */
export function bytesPerSourceRow(spec: WeightSpec): number {
  const { cols } = sourceMatrix(spec);
  const blocks = cols / Q4_BLOCK_SIZE;
  switch (spec.encoding.kind) {
    case 'float':
      return cols * (spec.encoding.half ? 2 : 4);
    case 'q4-data':
      return blocks * (Q4_BLOCK_SIZE / 2);
    case 'q4-scales':
      return blocks * (spec.encoding.half ? 2 : 4);
    case 'transposed':
    case 'q8-data':
    case 'q8-scales':
      throw new Error(`${spec.name}: a ${spec.encoding.kind} weight is not row-local.`);
  }
}

/** Consecutive rows of a source tensor, decoded to float32; quantized at most once for all its users. */
export class RowBlock {
  private quantized: Q4Weight | null = null;
  private quantized8: Int8Weight | null = null;

  constructor(
    readonly values: Float32Array,
    readonly firstRow: number,
    readonly rowCount: number,
    readonly cols: number,
  ) {}

  get q4(): Q4Weight {
    this.quantized ??= quantizeQ4(this.values, this.rowCount, this.cols);
    return this.quantized;
  }

  get q8(): Int8Weight {
    this.quantized8 ??= quantizeQ8(this.values, this.rowCount, this.cols);
    return this.quantized8;
  }
}

const bytesOf = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Transposes a row-major [rows, cols] matrix. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/**
 * The bytes of `spec` for the rows in `block` (all rows for a transposed weight). May share
 * memory with the block: copy before keeping them past the next block.
 */
export function encodeWeightRows(spec: WeightSpec, block: RowBlock): Uint8Array {
  const { rows, cols } = sourceMatrix(spec);
  const { encoding } = spec;
  switch (encoding.kind) {
    case 'float':
      return encoding.half ? bytesOf(toFloat16(block.values)) : bytesOf(block.values);
    case 'transposed': {
      if (block.firstRow !== 0 || block.rowCount !== rows) throw new Error(`${spec.name}: a transposed weight needs the whole tensor.`);
      const transposed = transpose(block.values, rows, cols);
      return encoding.half ? bytesOf(toFloat16(transposed)) : bytesOf(transposed);
    }
    case 'q4-data':
      return block.q4.data;
    case 'q4-scales':
      return encoding.half ? bytesOf(toFloat16(block.q4.scales)) : bytesOf(block.q4.scales);
    case 'q8-data':
    case 'q8-scales':
      throw new Error(`${spec.name}: a q8 weight is filled column by column (fillQ8Columns).`);
  }
}

/**
 * Puts what `block` (rows of `part`'s tensor) makes of the q8 weight `spec` into `into`, the whole
 * weight's bytes: int8 [in, out] data or float32 [out] scales.
 */
export function fillQ8Columns(spec: WeightSpec, part: Q8Part, block: RowBlock, into: Uint8Array): void {
  const q = block.q8;
  const firstColumn = part.column + block.firstRow;
  if (spec.encoding.kind === 'q8-scales') {
    new Float32Array(into.buffer, into.byteOffset, into.byteLength / 4).set(q.scales, firstColumn);
    return;
  }
  const [inFeatures, columns] = spec.dims;
  for (let r = 0; r < block.rowCount; r++) {
    const column = firstColumn + r;
    for (let k = 0; k < inFeatures; k++) into[k * columns + column] = q.values[r * inFeatures + k];
  }
}
