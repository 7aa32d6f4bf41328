/**
 * Builds the decoder-with-past ONNX graph of a Llama-family model in the I/O layout transformers.js
 * expects (docs/model-format.md). Plain ONNX ops (ORT fuses RMSNorm and friends) except two
 * com.microsoft contrib ops that onnxruntime-web's WebGPU and WASM EPs and onnxruntime-node all
 * implement: MatMulNBits for 4-bit weights, and GroupQueryAttention, which appends the new keys
 * and values to the cache and attends over the grouped KV heads without expanding them to every
 * query head or materializing a [heads, seq, total] score tensor in the graph (the plain-op
 * attention, still selectable, does both). RoPE stays our own ops either way (do_rotary = 0), so
 * the patchable `rope.inv_freq` / `rope.attention_scale` initializers keep their meaning.
 *
 * The graph is planned without touching any weight: each weight is a WeightSpec (which checkpoint
 * tensor, which encoding, how many bytes) handed to a `place` callback that decides where its
 * bytes will live. The converter core lays external data out from the specs alone, so it can
 * stream, resume and convert several dtypes in one pass; buildLlamaGraph is the simple
 * load-everything form (inline or caller-stored weights).
 */
import type { LlamaShape } from '../model/config.ts';
import type { RopeParameters } from '../model/yarn.ts';
import { DataType, type Graph, type Node, type Tensor, type ValueInfo } from './onnx-proto.ts';
import { dequantizeQ4, quantizeQ4 } from './quantize.ts';
import { encodeWeightRows, RowBlock, sourceMatrix, weightSpec, type WeightEncoding, type WeightSpec } from './weight-encoding.ts';

export type GraphDtype = 'fp32' | 'fp16' | 'q4' | 'q4f16';

/**
 * How attention is built: `gqa` = com.microsoft GroupQueryAttention (the default); `plain` = Concat
 * of the cache, Expand of the KV heads and an explicit masked softmax in standard ONNX ops (kept
 * as a fallback and a baseline for benchmarks).
 */
export type AttentionKind = 'gqa' | 'plain';

export interface GraphOptions {
  attention?: AttentionKind;
}

/** A graph option the model cannot use (typed, for the converter's callers). */
export class GraphOptionError extends Error {
  readonly code = 'unsupported-attention';
  constructor(message: string) {
    super(message);
    this.name = 'GraphOptionError';
  }
}

/** GroupQueryAttention's own requirement (onnxruntime's group_query_attention_helper.h). */
export const supportsGroupQueryAttention = (shape: Pick<LlamaShape, 'headDim' | 'numHeads' | 'numKvHeads'>) =>
  shape.headDim % 8 === 0 && shape.numHeads % shape.numKvHeads === 0;

/** `gqa` when the shape allows it, else `plain`. */
export const defaultAttention = (shape: LlamaShape): AttentionKind => (supportsGroupQueryAttention(shape) ? 'gqa' : 'plain');

/** Where a weight's bytes go (inline or external data); returns the initializer to reference. */
export type StoreWeight = (name: string, dataType: DataType, dims: number[], bytes: Uint8Array) => Promise<Tensor>;
/** A Hugging Face tensor by name, decoded to float32. */
export type LoadWeight = (hfName: string) => Promise<Float32Array>;
/** Decides where a planned weight's bytes will live; returns the initializer the graph references. */
export type PlaceWeight = (spec: WeightSpec) => Tensor;

/** Names of the RoPE initializers that are patched at load time (never external). */
export const ROPE_INV_FREQ = 'rope.inv_freq';
export const ROPE_ATTENTION_SCALE = 'rope.attention_scale';

const bytesOf = (a: Float32Array | Uint16Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const int64s = (values: number[]) => bytesOf(BigInt64Array.from(values.map(BigInt)));

class GraphBuilder {
  nodes: Node[] = [];
  initializers: Tensor[] = [];
  private counter = 0;

  op(opType: string, inputs: string[], attributes?: Node['attributes'], domain?: string): string {
    const output = `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, inputs, outputs: [output], attributes, domain });
    return output;
  }

  /** Same as op() but with a chosen output name (graph outputs). */
  named(output: string, opType: string, inputs: string[], attributes?: Node['attributes']): string {
    this.nodes.push({ opType, inputs, outputs: [output], attributes });
    return output;
  }

  /** A node with several outputs, named by the caller. */
  multi(opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'], domain?: string): string[] {
    this.nodes.push({ opType, inputs, outputs, attributes, domain });
    return outputs;
  }

  constInt64(name: string, values: number[], dims = [values.length]): string {
    this.initializers.push({ name, dataType: DataType.INT64, dims, data: int64s(values) });
    return name;
  }

  constFloat(name: string, values: Float32Array | number[], dims: number[]): string {
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, data: bytesOf(Float32Array.from(values)) });
    return name;
  }
}

/**
 * Loads every weight with `loadWeight`, encodes it and hands it to `storeWeight`, in graph order
 * (consecutive weights made from the same tensor share one load and one quantization).
 */
export async function buildLlamaGraph(
  shape: LlamaShape,
  rope: RopeParameters,
  dtype: GraphDtype,
  loadWeight: LoadWeight,
  storeWeight: StoreWeight,
  options: GraphOptions = {},
): Promise<Graph> {
  const planned = new Map<Tensor, WeightSpec>();
  const graph = planLlamaGraph(shape, rope, dtype, (spec) => {
    const placeholder: Tensor = { name: spec.name, dataType: spec.dataType, dims: spec.dims, data: new Uint8Array(0) };
    planned.set(placeholder, spec);
    return placeholder;
  }, options);
  let block: RowBlock | null = null;
  let blockSource = '';
  for (const [index, initializer] of graph.initializers.entries()) {
    const spec = planned.get(initializer);
    if (!spec) continue;
    if (!block || blockSource !== spec.source) {
      const { rows, cols } = sourceMatrix(spec);
      block = new RowBlock(await loadWeight(spec.source), 0, rows, cols);
      blockSource = spec.source;
    }
    graph.initializers[index] = await storeWeight(spec.name, spec.dataType, spec.dims, encodeWeightRows(spec, block));
  }
  return graph;
}

/** The graph of `dtype` with every weight placed by `place`, in the order the graph lists them. */
export function planLlamaGraph(shape: LlamaShape, rope: RopeParameters, dtype: GraphDtype, place: PlaceWeight, options: GraphOptions = {}): Graph {
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: HD, intermediateSize: I, numLayers, vocabSize: V } = shape;
  const attention = options.attention ?? defaultAttention(shape);
  if (attention === 'gqa' && !supportsGroupQueryAttention(shape)) {
    throw new GraphOptionError(`GroupQueryAttention needs head_dim a multiple of 8 (got ${HD}) and heads a multiple of KV heads (${H} / ${KV}).`);
  }
  const g = new GraphBuilder();
  // fp16 graphs keep activations, weights and the KV cache in half precision; RMSNorm, the RoPE
  // tables, the plain form's softmax and the logits stay float32 (fp16 would overflow or lose the
  // positions; GroupQueryAttention's kernels accumulate as their EP does).
  const half = dtype === 'fp16' || dtype === 'q4f16';
  const quantized = dtype === 'q4' || dtype === 'q4f16';
  const act = half ? DataType.FLOAT16 : DataType.FLOAT;
  const toAct = (x: string) => (half ? g.op('Cast', [x], { to: DataType.FLOAT16 }) : x);
  const toFloat32 = (x: string) => (half ? g.op('Cast', [x], { to: DataType.FLOAT }) : x);
  const store = (name: string, dataType: DataType, dims: number[], source: string, sourceShape: number[], encoding: WeightEncoding) => {
    g.initializers.push(place(weightSpec(name, dataType, dims, source, sourceShape, encoding)));
    return name;
  };

  /** y = x Wᵀ for a Hugging Face Linear weight [out, in] (`name` differs from `hfName` for a tied head). */
  const linear = (x: string, hfName: string, out: number, inFeatures: number, name = hfName): string => {
    const shapeOut = [out, inFeatures];
    if (!quantized) {
      const t = store(name, act, [inFeatures, out], hfName, shapeOut, { kind: 'transposed', half });
      return g.op('MatMul', [x, t]);
    }
    const blocks = out * (inFeatures / 32);
    const zeroPointBytes = out * Math.ceil(inFeatures / 32 / 2);
    const b = store(`${name}.q4`, DataType.UINT8, [out, inFeatures / 32, 16], hfName, shapeOut, { kind: 'q4-data' });
    const s = store(`${name}.scales`, act, [blocks], hfName, shapeOut, { kind: 'q4-scales', half });
    const z = store(`${name}.zero_points`, DataType.UINT8, [zeroPointBytes], hfName, shapeOut, { kind: 'q4-zero-points' });
    return g.op('MatMulNBits', [x, b, s, z], { K: inFeatures, N: out, bits: 4, block_size: 32 }, 'com.microsoft');
  };

  const eps = g.constFloat('rms_norm_eps', [shape.rmsNormEps], []);
  const rmsNorm = (x: string, hfName: string): string => {
    const w = store(hfName, DataType.FLOAT, [d], hfName, [d], { kind: 'float', half: false });
    const x32 = toFloat32(x);
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x32, x32])], { axes: [-1], keepdims: 1 });
    return toAct(g.op('Mul', [g.op('Div', [x32, g.op('Sqrt', [g.op('Add', [meanSquare, eps])])]), w]));
  };

  // Embedding table in the activation type. q4 targets adapters without shader-f16, where even a
  // Gather over an fp16 table fails on onnxruntime-web's WebGPU EP, so its table stays float32.
  const embedName = 'model.embed_tokens.weight';
  const table = store(embedName, act, [V, d], embedName, [V, d], { kind: 'float', half });
  let hidden = g.op('Gather', [table, 'input_ids']);

  // RoPE tables from position_ids, in float32 like Hugging Face: [B, 1, S, HD] for heads-first
  // tensors (plain attention), [B, S, 1, HD] for GroupQueryAttention's sequence-first layout.
  const invFreq = g.constFloat(ROPE_INV_FREQ, rope.invFreq, [HD / 2]);
  const attentionScale = g.constFloat(ROPE_ATTENTION_SCALE, [rope.attentionFactor], []);
  const axesLast = g.constInt64('axes_last', [-1]);
  const axes1 = g.constInt64('axes_1', [1]);
  const headAxis = attention === 'gqa' ? g.constInt64('axes_2', [2]) : axes1;
  const positions = g.op('Unsqueeze', [g.op('Cast', ['position_ids'], { to: DataType.FLOAT }), axesLast]);
  const freqs = g.op('Mul', [positions, invFreq]);
  const angles = g.op('Concat', [freqs, freqs], { axis: -1 });
  const cos = toAct(g.op('Unsqueeze', [g.op('Mul', [g.op('Cos', [angles]), attentionScale]), headAxis]));
  const sin = toAct(g.op('Unsqueeze', [g.op('Mul', [g.op('Sin', [angles]), attentionScale]), headAxis]));
  const halfDim = g.constInt64('rope_half', [HD / 2]);
  const zero = g.constInt64('zero_1d', [0]);
  const full = g.constInt64('head_dim_1d', [HD]);
  const axis3 = g.constInt64('axes_3', [3]);
  const applyRope = (x: string): string => {
    const x1 = g.op('Slice', [x, zero, halfDim, axis3]);
    const x2 = g.op('Slice', [x, halfDim, full, axis3]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  };

  const dim1 = g.constInt64('dim_1', [1]);
  const scalar0 = g.constInt64('scalar_0', [0], []);
  const total = g.op('Squeeze', [g.op('Slice', [g.op('Shape', ['attention_mask']), dim1, g.constInt64('dim_2', [2])])]);
  const qkv = (normed: string, p: string) => ({
    q: linear(normed, `${p}self_attn.q_proj.weight`, H * HD, d),
    k: linear(normed, `${p}self_attn.k_proj.weight`, KV * HD, d),
    v: linear(normed, `${p}self_attn.v_proj.weight`, KV * HD, d),
  });
  /** Attention of layer `l` over its cache: [B, S, H·HD] before o_proj; writes present.l.key/value. */
  const attend = attention === 'gqa' ? groupQueryAttention() : plainAttention();

  /**
   * GroupQueryAttention over [B, S, heads·HD] tensors. seqlens_k (total − 1 per row) and
   * total_sequence_length (int32) come from attention_mask as onnxruntime-genai's builder makes
   * them; the op attends query i of a chunk to keys 0 … past + i, so the cache must be unpadded
   * (see docs/model-format.md).
   */
  function groupQueryAttention() {
    const seqlensK = g.op('Cast', [g.op('Sub', [g.op('ReduceSum', ['attention_mask', axes1], { keepdims: 0 }), g.constInt64('one_1d', [1])])], { to: DataType.INT32 });
    const totalInt32 = g.op('Cast', [total], { to: DataType.INT32 });
    const flatShape = g.constInt64('flat_heads', [0, 0, -1]);
    const headsShape = g.constInt64('split_heads', [0, 0, -1, HD]);
    const rotated = (x: string) => g.op('Reshape', [applyRope(g.op('Reshape', [x, headsShape])), flatShape]);
    return (l: number, normed: string, p: string): string => {
      const { q, k, v } = qkv(normed, p);
      const [context] = g.multi(
        'GroupQueryAttention',
        [rotated(q), rotated(k), v, `past_key_values.${l}.key`, `past_key_values.${l}.value`, seqlensK, totalInt32],
        [`attention_${l}`, `present.${l}.key`, `present.${l}.value`],
        { num_heads: H, kv_num_heads: KV, scale: { float: 1 / Math.sqrt(HD) } },
        'com.microsoft',
      );
      return context;
    };
  }

  /** Standard ops: additive mask [B, 1, S, T] (causal over absolute positions, and padding), KV heads expanded. */
  function plainAttention() {
    const scalar1 = g.constInt64('scalar_1', [1], []);
    const seq = g.op('Squeeze', [g.op('Slice', [g.op('Shape', ['input_ids']), dim1, g.constInt64('dim_2b', [2])])]);
    const past = g.op('Sub', [total, seq]);
    const keyIndex = g.op('Unsqueeze', [g.op('Range', [scalar0, total, scalar1]), zero]);
    const queryIndex = g.op('Unsqueeze', [g.op('Add', [g.op('Range', [scalar0, seq, scalar1]), past]), dim1]);
    const causal = g.op('LessOrEqual', [keyIndex, queryIndex]);
    const padding = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: DataType.BOOL }), g.constInt64('axes_12', [1, 2])]);
    const maskAdd = g.op('Where', [
      g.op('And', [causal, padding]),
      g.constFloat('mask_keep', [0], []),
      g.constFloat('mask_drop', [-3.4028234663852886e38], []),
    ]);
    const toHeads = (x: string, heads: number, name: string) =>
      g.op('Transpose', [g.op('Reshape', [x, g.constInt64(name, [0, 0, heads, HD])])], { perm: [0, 2, 1, 3] });
    const groups = H / KV;
    const repeatKv = (x: string): string =>
      groups === 1
        ? x
        : g.op('Reshape', [
            g.op('Expand', [g.op('Unsqueeze', [x, g.constInt64(`axes_2_${x}`, [2])]), g.constInt64(`expand_${x}`, [1, 1, groups, 1, 1])]),
            g.constInt64(`reshape_${x}`, [0, H, -1, HD]),
          ]);
    const scale = g.constFloat('attention_scale_qk', [1 / Math.sqrt(HD)], []);
    return (l: number, normed: string, p: string): string => {
      const projected = qkv(normed, p);
      const q = applyRope(toHeads(projected.q, H, `q_shape_${l}`));
      const k = applyRope(toHeads(projected.k, KV, `k_shape_${l}`));
      const v = toHeads(projected.v, KV, `v_shape_${l}`);
      const presentK = g.named(`present.${l}.key`, 'Concat', [`past_key_values.${l}.key`, k], { axis: 2 });
      const presentV = g.named(`present.${l}.value`, 'Concat', [`past_key_values.${l}.value`, v], { axis: 2 });
      const keysT = g.op('Transpose', [repeatKv(presentK)], { perm: [0, 1, 3, 2] });
      const scores = g.op('Add', [g.op('Mul', [toFloat32(g.op('MatMul', [q, keysT])), scale]), maskAdd]);
      const context = g.op('MatMul', [toAct(g.op('Softmax', [scores], { axis: -1 })), repeatKv(presentV)]);
      return g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), g.constInt64(`o_shape_${l}`, [0, 0, H * HD])]);
    };
  }

  const pastType = act;
  const inputs: ValueInfo[] = [
    { name: 'input_ids', elemType: DataType.INT64, shape: ['batch_size', 'sequence_length'] },
    { name: 'attention_mask', elemType: DataType.INT64, shape: ['batch_size', 'total_sequence_length'] },
    { name: 'position_ids', elemType: DataType.INT64, shape: ['batch_size', 'sequence_length'] },
  ];
  const outputs: ValueInfo[] = [{ name: 'logits', elemType: DataType.FLOAT, shape: ['batch_size', 'logits_length', V] }];

  for (let l = 0; l < numLayers; l++) {
    const p = `model.layers.${l}.`;
    for (const kind of ['key', 'value']) {
      inputs.push({ name: `past_key_values.${l}.${kind}`, elemType: pastType, shape: ['batch_size', KV, 'past_sequence_length', HD] });
      outputs.push({ name: `present.${l}.${kind}`, elemType: pastType, shape: ['batch_size', KV, 'total_sequence_length', HD] });
    }
    const merged = attend(l, rmsNorm(hidden, `${p}input_layernorm.weight`), p);
    hidden = g.op('Add', [hidden, linear(merged, `${p}self_attn.o_proj.weight`, d, H * HD)]);

    const normed2 = rmsNorm(hidden, `${p}post_attention_layernorm.weight`);
    const gate = linear(normed2, `${p}mlp.gate_proj.weight`, I, d);
    const up = linear(normed2, `${p}mlp.up_proj.weight`, I, d);
    const activated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    hidden = g.op('Add', [hidden, linear(activated, `${p}mlp.down_proj.weight`, d, I)]);
  }

  // num_logits_to_keep: 0 keeps every position, k > 0 the last k (sliced before the big head).
  inputs.push({ name: 'num_logits_to_keep', elemType: DataType.INT64, shape: [] });
  const keep = 'num_logits_to_keep';
  const start = g.op('Reshape', [
    g.op('Where', [g.op('Equal', [keep, scalar0]), scalar0, g.op('Neg', [keep])]),
    g.constInt64('shape_1', [1]),
  ]);
  const kept = g.op('Slice', [hidden, start, g.constInt64('int64_max', [Number.MAX_SAFE_INTEGER]), dim1]);
  const finalNormed = rmsNorm(kept, 'model.norm.weight');
  // A tied head is a second copy made from the embedding table (MatMul/MatMulNBits need their own layout).
  const logits = shape.tieWordEmbeddings ? linear(finalNormed, embedName, V, d, 'lm_head.tied') : linear(finalNormed, 'lm_head.weight', V, d);
  g.named('logits', half ? 'Cast' : 'Identity', [logits], half ? { to: DataType.FLOAT } : undefined);

  return { name: 'llama', nodes: g.nodes, inputs, outputs, initializers: g.initializers };
}

/**
 * The weights a q4 / q4f16 graph really computes with, for references in tests: every linear layer
 * (and the head) round-tripped through 4-bit quantization, the embedding table and norms as given.
 * A tied model's head is the q4 copy of the table, returned as `lm_head.weight`, so the reference
 * must then be built untied.
 */
export function q4EffectiveWeights(shape: LlamaShape, weights: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, w] of weights) {
    if (name.endsWith('_proj.weight') || name === 'lm_head.weight') {
      const inFeatures = name.endsWith('down_proj.weight') ? shape.intermediateSize : name.endsWith('o_proj.weight') ? shape.numHeads * shape.headDim : shape.hiddenSize;
      out.set(name, dequantizeQ4(quantizeQ4(w, w.length / inFeatures, inFeatures)));
    } else out.set(name, w);
  }
  if (shape.tieWordEmbeddings) {
    const embed = weights.get('model.embed_tokens.weight');
    if (!embed) throw new Error('model.embed_tokens.weight is missing.');
    out.set('lm_head.weight', dequantizeQ4(quantizeQ4(embed, shape.vocabSize, shape.hiddenSize)));
  }
  return out;
}
