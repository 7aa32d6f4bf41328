/**
 * The lm_head alone, as a one-node ONNX graph in the form our converter writes it for `dtype`
 * (src/converter/llama-graph.ts `linear` and its tied q8 head): `hidden` [1, 1, d] in the
 * activation type → `logits` [1, 1, V] float32. The bench times it on the engine's execution
 * provider to say what share of a decode step the 128,256-row head takes. Pure.
 *
 * Weights: a block of seeded random rows, quantized with the converter's own quantizers, then
 * tiled over the vocabulary (rows are independent in every encoding), so Kanana's 230M-parameter
 * head is made in a fraction of a second; speed does not depend on the values.
 */
import { bytesOf } from '../converter/graph-builder.ts';
import { DataType, encodeModel, type Node, type Tensor } from '../converter/onnx-proto.ts';
import { dequantizeQ4, dequantizeQ8, quantizeQ4, quantizeQ8, Q4_BLOCK_SIZE } from '../converter/quantize.ts';
import { GRAPH_OPSETS } from '../converter/convert.ts';
import { float16ToFloat32, toFloat16 } from '../lib/float16.ts';
import type { GraphDtype } from '../model/graph-format.ts';
import { createRng } from '../model/rng.ts';

export interface LmHeadShape {
  hiddenSize: number;
  vocabSize: number;
}

export interface LmHeadGraph {
  /** The encoded model (weights inline). */
  model: Uint8Array;
  /** `hidden`'s element type: float16 in the half-precision graphs. */
  inputType: 'float32' | 'float16';
  /** Bytes of the head's weights as the graph stores them (what one step reads). */
  weightBytes: number;
  /** Distinct random rows; row v of the head is row v mod `rows` of the block. */
  rows: number;
  /**
   * The float weight the graph computes with, the random block [rows, d] in Hugging Face's
   * orientation (dequantized for q4 and q8, rounded to half for fp16): for a reference.
   */
  effectiveBlock: () => Float32Array;
}

/** `block` (`blockRows` rows of equal bytes) repeated down to `total` rows. */
function tileRows(block: Uint8Array, blockRows: number, total: number): Uint8Array {
  const rowBytes = block.byteLength / blockRows;
  const out = new Uint8Array(total * rowBytes);
  for (let row = 0; row < total; row += blockRows) out.set(block.subarray(0, Math.min(blockRows, total - row) * rowBytes), row * rowBytes);
  return out;
}

/** [n, k] elements of `elementBytes` transposed to [k, n] where row v of the source is v mod blockRows. */
function transposeTiled(block: Uint8Array, blockRows: number, k: number, n: number, elementBytes: number): Uint8Array {
  const out = new Uint8Array(k * n * elementBytes);
  for (let v = 0; v < n; v++) {
    const source = (v % blockRows) * k * elementBytes;
    for (let i = 0; i < k; i++) {
      const from = source + i * elementBytes;
      const to = (i * n + v) * elementBytes;
      for (let b = 0; b < elementBytes; b++) out[to + b] = block[from + b];
    }
  }
  return out;
}

export function lmHeadGraph(shape: LmHeadShape, dtype: GraphDtype, seed = 1, blockRows = 1024): LmHeadGraph {
  const { hiddenSize: d, vocabSize: V } = shape;
  const rows = Math.min(blockRows, V);
  const rng = createRng(seed);
  // N(0, 1) like the fixtures' embeddings (a tied head's rows).
  const block = Float32Array.from({ length: rows * d }, () => rng.normal());
  const half = dtype === 'fp16' || dtype === 'q4f16';
  const act = half ? DataType.FLOAT16 : DataType.FLOAT;
  const initializers: Tensor[] = [];
  const weight = (name: string, dataType: DataType, dims: number[], data: Uint8Array) => {
    initializers.push({ name, dataType, dims, data });
    return name;
  };
  let node: Node;
  let effectiveBlock: () => Float32Array;
  if (dtype === 'q4' || dtype === 'q4f16') {
    const q = quantizeQ4(block, rows, d);
    const blocks = d / Q4_BLOCK_SIZE;
    const scales = tileRows(bytesOf(half ? toFloat16(q.scales) : q.scales), rows, V);
    node = {
      opType: 'MatMulNBits',
      domain: 'com.microsoft',
      inputs: [
        'hidden',
        weight('lm_head.q4', DataType.UINT8, [V, blocks, Q4_BLOCK_SIZE / 2], tileRows(q.data, rows, V)),
        weight('lm_head.scales', act, [V * blocks], scales),
      ],
      outputs: [half ? 'logits_half' : 'logits'],
      attributes: { K: d, N: V, bits: 4, block_size: Q4_BLOCK_SIZE },
    };
    effectiveBlock = () => {
      // In fp16 graphs the scales are half precision.
      return dequantizeQ4(half ? { ...q, scales: float16ToFloat32(toFloat16(q.scales)) } : q);
    };
  } else if (dtype === 'q8') {
    // DynamicQuantizeMatMul's int8 [d, V] and a float32 scale per column.
    const q = quantizeQ8(block, rows, d);
    node = {
      opType: 'DynamicQuantizeMatMul',
      domain: 'com.microsoft',
      inputs: [
        'hidden',
        weight('lm_head.q8', DataType.INT8, [d, V], transposeTiled(bytesOf(q.values), rows, d, V, 1)),
        weight('lm_head.scales', DataType.FLOAT, [V], tileRows(bytesOf(q.scales), rows, V)),
      ],
      outputs: ['logits'],
    };
    effectiveBlock = () => dequantizeQ8(q);
  } else {
    const values = half ? bytesOf(toFloat16(block)) : bytesOf(block);
    node = {
      opType: 'MatMul',
      inputs: ['hidden', weight('lm_head.weight', act, [d, V], transposeTiled(values, rows, d, V, half ? 2 : 4))],
      outputs: [half ? 'logits_half' : 'logits'],
    };
    effectiveBlock = () => (half ? float16ToFloat32(toFloat16(block)) : block);
  }
  const nodes: Node[] = [node];
  if (half) nodes.push({ opType: 'Cast', inputs: ['logits_half'], outputs: ['logits'], attributes: { to: DataType.FLOAT } });
  const model = encodeModel({
    graph: {
      name: 'lm_head',
      nodes,
      inputs: [{ name: 'hidden', elemType: act, shape: [1, 1, d] }],
      outputs: [{ name: 'logits', elemType: DataType.FLOAT, shape: [1, 1, V] }],
      initializers,
    },
    opsets: GRAPH_OPSETS,
  });
  const weightBytes = initializers.reduce((sum, t) => sum + (t.data instanceof Uint8Array ? t.data.byteLength : t.data.length), 0);
  return { model, inputType: half ? 'float16' : 'float32', weightBytes, rows, effectiveBlock };
}
