/**
 * Builds the decoder-with-past ONNX graph of a Llama-family model in the I/O layout transformers.js
 * expects (docs/model-format.md), in the ops onnxruntime's WebGPU EP fuses: (Skip)Simplified-
 * LayerNormalization for the norms and residual adds, MatMulNBits for 4-bit weights (fused with the
 * norm before them), GroupQueryAttention with its own RoPE from patchable cos/sin tables, and
 * DynamicQuantizeMatMul for int8 weights (q8: a CPU op, for WASM). The plain-op attention, still
 * selectable, expands the KV heads and materializes the scores, with RoPE ops on patchable
 * `rope.inv_freq` / `rope.attention_scale`.
 *
 * The graph is planned without touching any weight: each weight is a WeightSpec (which checkpoint
 * tensor, which encoding, how many bytes) handed to a `place` callback that decides where its
 * bytes will live. The converter core lays external data out from the specs alone, so it can
 * stream, resume and convert several dtypes in one pass; buildLlamaGraph is the simple
 * load-everything form (inline or caller-stored weights).
 *
 * One file past 400 lines: the graph is one planning closure over its builder, weight store and
 * dtype flags; its helpers (norms, q4/q8 weights, the 4-bit gather, both attention forms) share
 * that state, and splitting them out would thread it through every call.
 */
import type { LlamaShape } from '../model/config.ts';
import type { RopeParameters } from '../model/yarn.ts';
import {
  ROPE_ATTENTION_SCALE,
  ROPE_COS_CACHE,
  ROPE_INV_FREQ,
  ROPE_SIN_CACHE,
  type AttentionKind,
  type EmbeddingLayout,
  type GraphDtype,
} from '../model/graph-format.ts';
import { ropeTable } from '../model/yarn.ts';
import { GraphBuilder } from './graph-builder.ts';
import { DataType, type Graph, type Tensor, type ValueInfo } from './onnx-proto.ts';
import { encodeWeightRows, fillQ8Columns, isQ8, RowBlock, sourceMatrix, weightSpec, type WeightEncoding, type WeightSpec } from './weight-encoding.ts';

export interface GraphOptions {
  attention?: AttentionKind;
  /** q4 / q4f16 only (default `quantized`). */
  embedding?: EmbeddingLayout;
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
  const graph = planLlamaGraph(
    shape,
    rope,
    dtype,
    (spec) => {
      const placeholder: Tensor = { name: spec.name, dataType: spec.dataType, dims: spec.dims, data: new Uint8Array(0) };
      planned.set(placeholder, spec);
      return placeholder;
    },
    options,
  );
  // Whole tensors, each loaded (and quantized) once for the consecutive weights made from it.
  let blocks = new Map<string, RowBlock>();
  let blocksFor = '';
  const wholeTensor = async (source: string, shape: number[]) => {
    let block = blocks.get(source);
    if (!block) {
      const { rows, cols } = sourceMatrix({ sourceShape: shape });
      blocks.set(source, (block = new RowBlock(await loadWeight(source), 0, rows, cols)));
    }
    return block;
  };
  for (const [index, initializer] of graph.initializers.entries()) {
    const spec = planned.get(initializer);
    if (!spec) continue;
    if (blocksFor !== spec.source) blocks = new Map();
    blocksFor = spec.source;
    let bytes: Uint8Array;
    if (isQ8(spec.encoding)) {
      bytes = new Uint8Array(spec.byteLength);
      for (const part of spec.encoding.parts) fillQ8Columns(spec, part, await wholeTensor(part.source, part.shape), bytes);
    } else {
      bytes = encodeWeightRows(spec, await wholeTensor(spec.source, spec.sourceShape));
    }
    graph.initializers[index] = await storeWeight(spec.name, spec.dataType, spec.dims, bytes);
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
  const int8 = dtype === 'q8';
  const act = half ? DataType.FLOAT16 : DataType.FLOAT;
  const toAct = (x: string) => (half ? g.op('Cast', [x], { to: DataType.FLOAT16 }) : x);
  const toFloat32 = (x: string) => (half ? g.op('Cast', [x], { to: DataType.FLOAT }) : x);
  const store = (name: string, dataType: DataType, dims: number[], source: string, sourceShape: number[], encoding: WeightEncoding) => {
    g.initializers.push(place(weightSpec(name, dataType, dims, source, sourceShape, encoding)));
    return name;
  };

  /**
   * DynamicQuantizeMatMul's int8 weight [in, Σ out] and per-column scales, made from the Hugging
   * Face Linear weights `parts` ([out, in] each) side by side: one matmul for several projections
   * of the same input, which it quantizes once per call.
   */
  const q8Weight = (name: string, parts: { hfName: string; out: number }[], inFeatures: number) => {
    let columns = 0;
    const q8Parts = parts.map(({ hfName, out }) => ({ source: hfName, shape: [out, inFeatures] as [number, number], column: (columns += out) - out }));
    // Written once the last part's tensor is converted.
    const { hfName: last, out } = parts[parts.length - 1];
    return {
      data: store(`${name}.q8`, DataType.INT8, [inFeatures, columns], last, [out, inFeatures], { kind: 'q8-data', parts: q8Parts }),
      scales: store(`${name}.scales`, DataType.FLOAT, [columns], last, [out, inFeatures], { kind: 'q8-scales', parts: q8Parts }),
    };
  };
  const dynamicMatMul = (x: string, w: { data: string; scales: string }) => g.op('DynamicQuantizeMatMul', [x, w.data, w.scales], undefined, 'com.microsoft');
  /** q8: the projections `parts` of the same [.., d] input as one DynamicQuantizeMatMul, split back into their outputs. */
  const fusedLinear = (x: string, name: string, parts: { hfName: string; out: number }[], splitName: string) =>
    g.split(
      dynamicMatMul(x, q8Weight(name, parts, d)),
      parts.map((part) => part.out),
      splitName,
    );

  /** y = x Wᵀ for a Hugging Face Linear weight [out, in] (`name` differs from `hfName` for a tied head). */
  const linear = (x: string, hfName: string, out: number, inFeatures: number, name = hfName): string => {
    const shapeOut = [out, inFeatures];
    if (int8) return dynamicMatMul(x, q8Weight(name, [{ hfName, out }], inFeatures));
    if (!quantized) {
      const t = store(name, act, [inFeatures, out], hfName, shapeOut, { kind: 'transposed', half });
      return g.op('MatMul', [x, t]);
    }
    return matMulNBits(x, q4Weight(name, hfName, out, inFeatures), out, inFeatures);
  };
  /**
   * MatMulNBits' parts of a Linear weight [out, in]: packed nibbles [out, in/32, 16] and a scale per
   * block. Symmetric (quantize.ts): no zero_points input, as onnxruntime's WebGPU norm + matmul
   * fusions need.
   */
  function q4Weight(name: string, hfName: string, out: number, inFeatures: number) {
    const shapeOut = [out, inFeatures];
    return {
      data: store(`${name}.q4`, DataType.UINT8, [out, inFeatures / 32, 16], hfName, shapeOut, { kind: 'q4-data' }),
      scales: store(`${name}.scales`, act, [out * (inFeatures / 32)], hfName, shapeOut, { kind: 'q4-scales', half }),
    };
  }
  function matMulNBits(x: string, w: { data: string; scales: string }, out: number, inFeatures: number) {
    return g.op('MatMulNBits', [x, w.data, w.scales], { K: inFeatures, N: out, bits: 4, block_size: 32 }, 'com.microsoft');
  }

  // RMSNorm is onnxruntime's SimplifiedLayerNormalization, and each residual add together with the
  // norm after it one SkipSimplifiedLayerNormalization: a kernel each (computing in float32), and
  // the form onnxruntime's WebGPU EP fuses with the q/k/v and gate/up MatMulNBits reading the norm
  // (one MatMulNBitsQkv / MatMulNBitsMlp dispatch). Their weights are in the activation type, as
  // both ops take one type for input and weight.
  const epsilon = { float: shape.rmsNormEps };
  /** A sublayer's output not yet added to `hidden`: the next norm adds it. */
  let pendingResidual: string | null = null;
  /** hidden += the pending sublayer output, then RMSNorm of it with the weight `hfName` (`last`: the sum is not needed). */
  const addAndNorm = (hfName: string, id: string, last = false): string => {
    const w = store(hfName, act, [d], hfName, [d], { kind: 'float', half });
    if (pendingResidual === null) return g.op('SimplifiedLayerNormalization', [hidden, w], { axis: -1, epsilon, stash_type: 1 });
    // Outputs: the normed sum, mean and inv_std_var (unused), the sum itself.
    const [normed, , , sum] = g.multi(
      'SkipSimplifiedLayerNormalization',
      [hidden, pendingResidual, w],
      [`${id}_normed`, '', '', last ? '' : `${id}_sum`],
      { epsilon },
      'com.microsoft',
    );
    hidden = sum;
    pendingResidual = null;
    return normed;
  };

  // The token embedding. q4/q4f16 store it as MatMulNBits' 4-bit table [V, d/32, 16] with a scale
  // per 32-wide block, which a tied head multiplies with as is: one copy, an eighth of a float32
  // table. q8 keeps the table in DynamicQuantizeMatMul's layout, int8 [d, V] with a scale per
  // token: a tied head uses it as is, and the embedding gathers columns (scaled, then turned to
  // [B, S, d]). fp32/fp16, and q4/q4f16 in the `float` layout, gather from a table in the
  // activation type.
  const embedName = 'model.embed_tokens.weight';
  const int8Table = int8 ? q8Weight(embedName, [{ hfName: embedName, out: V }], d) : null;
  const q4Table = quantized && options.embedding !== 'float' ? q4Weight(embedName, embedName, V, d) : null;
  let hidden = int8Table
    ? g.op(
        'Transpose',
        [
          g.op('Mul', [
            g.op('Cast', [g.op('Gather', [int8Table.data, 'input_ids'], { axis: 1 })], { to: DataType.FLOAT }),
            g.op('Gather', [int8Table.scales, 'input_ids']),
          ]),
        ],
        { perm: [1, 2, 0] },
      )
    : q4Table
      ? gatherQ4Rows(q4Table)
      : g.op('Gather', [store(embedName, act, [V, d], embedName, [V, d], { kind: 'float', half }), 'input_ids']);

  /**
   * The rows `input_ids` of a 4-bit table, dequantized as MatMulNBits reads it: (nibble − 8) ·
   * block scale, element 2j of a block in the low nibble of byte j, computed in float32 (exact,
   * like the reference's dequantizeQ4) and then cast to the activation type. Standard ops, not
   * GatherBlockQuantized: onnxruntime-web's WASM build has no kernel for that op (its WebGPU EP
   * does), and these run on both EPs (all on the GPU on WebGPU).
   */
  function gatherQ4Rows(table: { data: string; scales: string }): string {
    const bytes = g.op('Cast', [g.op('Gather', [table.data, 'input_ids'])], { to: DataType.FLOAT }); // [B, S, d/32, 16]
    const sixteen = g.constFloat('embed_16', [16], []);
    const high = g.op('Floor', [g.op('Div', [bytes, sixteen])]);
    const low = g.op('Sub', [bytes, g.op('Mul', [high, sixteen])]);
    const last = g.constInt64('embed_axes_last', [-1]);
    const pairs = g.op('Concat', [g.op('Unsqueeze', [low, last]), g.op('Unsqueeze', [high, last])], { axis: -1 }); // [B, S, d/32, 16, 2]
    const nibbles = g.op('Reshape', [pairs, g.constInt64('embed_blocks_shape', [0, 0, d / 32, 32])]);
    const blockScales = g.op('Gather', [g.op('Reshape', [table.scales, g.constInt64('embed_scales_shape', [V, d / 32, 1])]), 'input_ids']);
    const rows = g.op('Mul', [g.op('Sub', [nibbles, g.constFloat('embed_zero_point', [8], [])]), toFloat32(blockScales)]);
    return toAct(g.op('Reshape', [rows, g.constInt64('embed_rows_shape', [0, 0, d])]));
  }

  // GroupQueryAttention rotates q and k itself (do_rotary) from cos/sin tables indexed by position,
  // which it derives from seqlens_k: fewer dispatches than our own RoPE ops, and no position_ids.
  // onnxruntime's kernels need head_dim a multiple of 16 for it; otherwise (and in the plain form)
  // the graph computes cos/sin from position_ids.
  const rotaryInAttention = attention === 'gqa' && HD % 16 === 0;
  const ropeCache = (kind: 'cos' | 'sin', name: string) =>
    g.constFloatAs(half, name, ropeTable(kind, rope, shape.maxPositionEmbeddings), [shape.maxPositionEmbeddings, HD / 2]);
  const ropeCaches = rotaryInAttention ? { cos: ropeCache('cos', ROPE_COS_CACHE), sin: ropeCache('sin', ROPE_SIN_CACHE) } : null;
  const applyRope = rotaryInAttention ? null : ropeFromPositions();

  /**
   * RoPE from position_ids, in float32 like Hugging Face: tables [B, 1, S, HD] for heads-first
   * tensors (plain attention), [B, S, 1, HD] for GroupQueryAttention's sequence-first layout.
   */
  function ropeFromPositions() {
    const invFreq = g.constFloat(ROPE_INV_FREQ, rope.invFreq, [HD / 2]);
    const attentionScale = g.constFloat(ROPE_ATTENTION_SCALE, [rope.attentionFactor], []);
    const axesLast = g.constInt64('axes_last', [-1]);
    const headAxis = attention === 'gqa' ? g.constInt64('axes_2', [2]) : g.constInt64('axes_1_rope', [1]);
    const positions = g.op('Unsqueeze', [g.op('Cast', ['position_ids'], { to: DataType.FLOAT }), axesLast]);
    const freqs = g.op('Mul', [positions, invFreq]);
    const angles = g.op('Concat', [freqs, freqs], { axis: -1 });
    const cos = toAct(g.op('Unsqueeze', [g.op('Mul', [g.op('Cos', [angles]), attentionScale]), headAxis]));
    const sin = toAct(g.op('Unsqueeze', [g.op('Mul', [g.op('Sin', [angles]), attentionScale]), headAxis]));
    const halfDim = g.constInt64('rope_half', [HD / 2]);
    const start = g.constInt64('rope_start', [0]);
    const full = g.constInt64('head_dim_1d', [HD]);
    const axis3 = g.constInt64('axes_3', [3]);
    return (x: string): string => {
      const x1 = g.op('Slice', [x, start, halfDim, axis3]);
      const x2 = g.op('Slice', [x, halfDim, full, axis3]);
      const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
      return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
    };
  }

  const dim1 = g.constInt64('dim_1', [1]);
  const scalar0 = g.constInt64('scalar_0', [0], []);
  const total = g.op('Squeeze', [g.op('Slice', [g.op('Shape', ['attention_mask']), dim1, g.constInt64('dim_2', [2])])]);
  const qkv = (normed: string, p: string) => {
    if (int8) {
      const [q, k, v] = fusedLinear(
        normed,
        `${p}self_attn.qkv_proj.weight`,
        [
          { hfName: `${p}self_attn.q_proj.weight`, out: H * HD },
          { hfName: `${p}self_attn.k_proj.weight`, out: KV * HD },
          { hfName: `${p}self_attn.v_proj.weight`, out: KV * HD },
        ],
        'split_qkv',
      );
      return { q, k, v };
    }
    return {
      q: linear(normed, `${p}self_attn.q_proj.weight`, H * HD, d),
      k: linear(normed, `${p}self_attn.k_proj.weight`, KV * HD, d),
      v: linear(normed, `${p}self_attn.v_proj.weight`, KV * HD, d),
    };
  };
  /** The MLP's gate and up projections (one fused matmul in q8). */
  const gateUp = (normed: string, p: string): [string, string] => {
    if (!int8) return [linear(normed, `${p}mlp.gate_proj.weight`, I, d), linear(normed, `${p}mlp.up_proj.weight`, I, d)];
    const [gate, up] = fusedLinear(
      normed,
      `${p}mlp.gate_up_proj.weight`,
      [
        { hfName: `${p}mlp.gate_proj.weight`, out: I },
        { hfName: `${p}mlp.up_proj.weight`, out: I },
      ],
      'split_gate_up',
    );
    return [gate, up];
  };
  /** Attention of layer `l` over its cache: [B, S, H·HD] before o_proj; writes present.l.key/value. */
  const attend = attention === 'gqa' ? groupQueryAttention() : plainAttention();

  /**
   * GroupQueryAttention over [B, S, heads·HD] tensors. seqlens_k (total − 1 per row) and
   * total_sequence_length (int32) come from attention_mask as onnxruntime-genai's builder makes
   * them; the op attends query i of a chunk to keys 0 … past + i, so the cache must be unpadded
   * (see docs/model-format.md).
   */
  function groupQueryAttention() {
    const axes1 = g.constInt64('axes_1', [1]);
    const seqlensK = g.op('Cast', [g.op('Sub', [g.op('ReduceSum', ['attention_mask', axes1], { keepdims: 0 }), g.constInt64('one_1d', [1])])], {
      to: DataType.INT32,
    });
    const totalInt32 = g.op('Cast', [total], { to: DataType.INT32 });
    // Our own RoPE (when the op cannot rotate): on [B, S, heads, HD] views of the projections.
    const ownRope = applyRope && { apply: applyRope, flat: g.constInt64('flat_heads', [0, 0, -1]), heads: g.constInt64('split_heads', [0, 0, -1, HD]) };
    const rotated = (x: string) => (ownRope ? g.op('Reshape', [ownRope.apply(g.op('Reshape', [x, ownRope.heads])), ownRope.flat]) : x);
    const rotary: Record<string, number> = ropeCaches ? { do_rotary: 1, rotary_interleaved: 0 } : {};
    return (l: number, normed: string, p: string): string => {
      const { q, k, v } = qkv(normed, p);
      const [context] = g.multi(
        'GroupQueryAttention',
        [
          rotated(q),
          rotated(k),
          v,
          `past_key_values.${l}.key`,
          `past_key_values.${l}.value`,
          seqlensK,
          totalInt32,
          ...(ropeCaches ? [ropeCaches.cos, ropeCaches.sin] : []),
        ],
        [`attention_${l}`, `present.${l}.key`, `present.${l}.value`],
        { num_heads: H, kv_num_heads: KV, scale: { float: 1 / Math.sqrt(HD) }, ...rotary },
        'com.microsoft',
      );
      return context;
    };
  }

  /** Standard ops: additive mask [B, 1, S, T] (causal over absolute positions, and padding), KV heads expanded. */
  function plainAttention() {
    const scalar1 = g.constInt64('scalar_1', [1], []);
    const zero = g.constInt64('zero_1d', [0]);
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
      const q = applyRope!(toHeads(projected.q, H, `q_shape_${l}`));
      const k = applyRope!(toHeads(projected.k, KV, `k_shape_${l}`));
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
  ];
  if (!rotaryInAttention) inputs.push({ name: 'position_ids', elemType: DataType.INT64, shape: ['batch_size', 'sequence_length'] });
  const outputs: ValueInfo[] = [{ name: 'logits', elemType: DataType.FLOAT, shape: ['batch_size', 'logits_length', V] }];

  for (let l = 0; l < numLayers; l++) {
    const p = `model.layers.${l}.`;
    for (const kind of ['key', 'value']) {
      inputs.push({ name: `past_key_values.${l}.${kind}`, elemType: pastType, shape: ['batch_size', KV, 'past_sequence_length', HD] });
      outputs.push({ name: `present.${l}.${kind}`, elemType: pastType, shape: ['batch_size', KV, 'total_sequence_length', HD] });
    }
    const merged = attend(l, addAndNorm(`${p}input_layernorm.weight`, `input_norm_${l}`), p);
    pendingResidual = linear(merged, `${p}self_attn.o_proj.weight`, d, H * HD);

    const [gate, up] = gateUp(addAndNorm(`${p}post_attention_layernorm.weight`, `post_attention_norm_${l}`), p);
    // SiLU as Sigmoid and Mul: the pattern onnxruntime's WebGPU MLP fusion matches.
    const activated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    pendingResidual = linear(activated, `${p}mlp.down_proj.weight`, d, I);
  }

  // num_logits_to_keep: 0 keeps every position, k > 0 the last k (sliced before the big head; the
  // final norm runs on every position, in the same kernel as the last residual add).
  inputs.push({ name: 'num_logits_to_keep', elemType: DataType.INT64, shape: [] });
  const keep = 'num_logits_to_keep';
  const start = g.op('Reshape', [g.op('Where', [g.op('Equal', [keep, scalar0]), scalar0, g.op('Neg', [keep])]), g.constInt64('rank1_shape', [1])]);
  const allNormed = addAndNorm('model.norm.weight', 'final_norm', true);
  const finalNormed = g.op('Slice', [allNormed, start, g.constInt64('int64_max', [Number.MAX_SAFE_INTEGER]), dim1]);
  // A tied head multiplies with the quantized table itself (q4, q8); fp32/fp16 need a transposed
  // copy of it for MatMul.
  const logits = !shape.tieWordEmbeddings
    ? linear(finalNormed, 'lm_head.weight', V, d)
    : int8Table
      ? dynamicMatMul(finalNormed, int8Table)
      : q4Table
        ? matMulNBits(finalNormed, q4Table, V, d)
        : linear(finalNormed, embedName, V, d, 'lm_head.tied');
  g.named('logits', half ? 'Cast' : 'Identity', [logits], half ? { to: DataType.FLOAT } : undefined);

  return { name: 'llama', nodes: g.nodes, inputs, outputs, initializers: g.initializers };
}
