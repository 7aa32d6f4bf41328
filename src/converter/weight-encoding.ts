/**
 * How each ONNX weight of a converted model is derived from one Hugging Face tensor, and the
 * encoders that produce its bytes. Float copies and the three MatMulNBits parts are row-local, so
 * they can be produced a block of rows at a time (a 128256-row embedding never has to be in memory
 * whole); a transposed copy (the MatMul weights of fp32/fp16 graphs) needs the whole tensor.
 * Pure: no I/O.
 */
import { DataType } from './onnx-proto.ts';
import { Q4_BLOCK_SIZE, quantizeQ4, toFloat16, type Q4Weight } from './quantize.ts';

export type WeightEncoding =
  /** The values as float32, or rounded to float16. */
  | { kind: 'float'; half: boolean }
  /** A Linear weight [out, in] transposed to [in, out] for MatMul. */
  | { kind: 'transposed'; half: boolean }
  /** MatMulNBits parts of a Linear weight [out, in]: packed nibbles, block scales, zero points. */
  | { kind: 'q4-data' }
  | { kind: 'q4-scales'; half: boolean }
  | { kind: 'q4-zero-points' };

/** One graph weight: its initializer and how its bytes are made from a checkpoint tensor. */
export interface WeightSpec {
  name: string;
  dataType: DataType;
  dims: number[];
  /** The Hugging Face tensor it is made from. */
  source: string;
  /** The shape that tensor must have. */
  sourceShape: number[];
  encoding: WeightEncoding;
  byteLength: number;
}

const ELEMENT_BYTES: Partial<Record<DataType, number>> = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.UINT8]: 1 };

export function weightSpec(
  name: string,
  dataType: DataType,
  dims: number[],
  source: string,
  sourceShape: number[],
  encoding: WeightEncoding,
): WeightSpec {
  const elementBytes = ELEMENT_BYTES[dataType];
  if (elementBytes === undefined) throw new Error(`No weight encoding stores data type ${dataType}.`);
  return { name, dataType, dims, source, sourceShape, encoding, byteLength: dims.reduce((a, b) => a * b, 1) * elementBytes };
}

/** The source viewed as a matrix: 1-D tensors (norm weights) are one row. */
export function sourceMatrix(spec: Pick<WeightSpec, 'sourceShape'>): { rows: number; cols: number } {
  const [first, ...rest] = spec.sourceShape;
  return rest.length === 0 ? { rows: 1, cols: first } : { rows: first, cols: rest.reduce((a, b) => a * b, 1) };
}

export const isRowLocal = (encoding: WeightEncoding) => encoding.kind !== 'transposed';

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
    case 'q4-zero-points':
      return Math.ceil(blocks / 2);
    case 'transposed':
      throw new Error(`${spec.name}: a transposed weight is not row-local.`);
  }
}

/** Consecutive rows of a source tensor, decoded to float32; quantized at most once for all its users. */
export class RowBlock {
  private quantized: Q4Weight | null = null;

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
    case 'q4-zero-points':
      return block.q4.zeroPoints;
  }
}
