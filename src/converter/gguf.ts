/**
 * GGUF (v3) writer for Llama-family checkpoints, so llama.cpp (wllama in the browser) can run the
 * very weights our ONNX graphs run. Mirrors what llama.cpp's convert_hf_to_gguf.py writes for
 * `LlamaForCausalLM` (`conversion/llama.py` + `TextModel.set_gguf_parameters` + `SpecialVocab`):
 * - the `llama` architecture keys, with key/value_length = head_dim (Kanana: 128 ≠ hidden/heads);
 * - q_proj/k_proj rows permuted per head from Hugging Face's rotate_half layout to llama.cpp's
 *   interleaved-pair RoPE (`LlamaModel.permute`);
 * - tied embeddings: no output.weight, llama.cpp then uses token_embd as the head;
 * - llama3 RoPE (Llama 3.1/3.2): a `rope_freqs.weight` tensor of per-frequency divisors;
 * - the GPT-2-style BPE vocabulary (tokens, token types, merges, special ids, chat template).
 * Weight matrices are F32, F16, Q4_0 or Q8_0 (ggml's block layouts, bit-exact with llama.cpp's
 * `quantize_row_q4_0_ref` / `quantize_row_q8_0_ref`); norm weights always stay F32, as in llama.cpp.
 *
 * Plain TypeScript over the converter's CheckpointReader and OutputStream (no Node or DOM API):
 * header and tensor infos are written first (every size is known from the safetensors headers),
 * then each tensor is read, converted, written and dropped, so a multi-GB checkpoint streams.
 */
import { resolveLlamaShape, normalizeRopeFields, UnsupportedModelError, type HfLlamaConfig, type LlamaShape } from '../model/config.ts';
import { llama3RopeFreqFactors } from '../model/yarn.ts';
import { ConversionError, indexTensors, parseJson, type CheckpointReader, type OutputStream } from './convert.ts';
import { readTensorAsFloat32 } from './safetensors.ts';
import { GGUF_ALIGNMENT, GgmlType, gguf, GgufError, layoutGguf, type GgufTensorInfo, type GgufValue } from './gguf-container.ts';
import { encodeGgmlTensor, ggmlRoundTrip } from './ggml-quant.ts';
import { type HfTokenizerJson, type HfTokenizerConfig, llamaTokenizerMetadata } from './gguf-vocab.ts';

/** What the weight matrices are stored as; `general.file_type` follows (llama.h LLAMA_FTYPE_*). */
export type GgufWeightType = 'f32' | 'f16' | 'q4_0' | 'q8_0';
export const GGUF_WEIGHT_TYPES: readonly GgufWeightType[] = ['f32', 'f16', 'q4_0', 'q8_0'];
const WEIGHT_GGML_TYPE: Record<GgufWeightType, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, q4_0: GgmlType.Q4_0, q8_0: GgmlType.Q8_0 };
const LLAMA_FILE_TYPE: Record<GgufWeightType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };
/** gguf-py's GGML_QUANT_VERSION, written as general.quantization_version. */
const GGML_QUANT_VERSION = 2;

/**
 * convert_hf_to_gguf's `LlamaModel.permute` for a q_proj/k_proj weight [heads·headDim, cols]:
 * within each head, row 2i + j of the result is row j·headDim/2 + i of the input, so the pairs
 * (i, i + headDim/2) that rotate_half rotates together become llama.cpp's adjacent pairs.
 */
export function permuteRopeRows(weight: Float32Array, heads: number, cols: number): Float32Array {
  return moveRopeRows(weight, heads, cols, true);
}

/** The inverse of permuteRopeRows (GGUF row order back to Hugging Face's). */
export function unpermuteRopeRows(weight: Float32Array, heads: number, cols: number): Float32Array {
  return moveRopeRows(weight, heads, cols, false);
}

function moveRopeRows(weight: Float32Array, heads: number, cols: number, toGguf: boolean): Float32Array {
  const rows = weight.length / cols;
  const headDim = rows / heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new GgufError('bad-shape', `Cannot split ${rows} rows into ${heads} heads of even size.`);
  const half = headDim / 2;
  const out = new Float32Array(weight.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const hfRow = h * headDim + j * half + i;
        const ggufRow = h * headDim + 2 * i + j;
        const [from, to] = toGguf ? [hfRow, ggufRow] : [ggufRow, hfRow];
        out.set(weight.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// File layout

/** One GGUF tensor of a Llama model and the Hugging Face tensor it comes from. */
export interface LlamaGgufTensor {
  ggufName: string;
  /** The checkpoint tensor it is read from; null for one computed from config.json (`values`). */
  hfName: string | null;
  /** A tensor computed from config.json (llama3's rope_freqs), not read from the checkpoint. */
  values?: Float32Array;
  /** The Hugging Face shape: [rows, cols] for matrices, [n] for norms. */
  hfShape: number[];
  type: GgmlType;
  /** q_proj/k_proj: the head count to permute rows by (llama.cpp's RoPE layout). */
  permuteHeads?: number;
}

/**
 * llama3 RoPE's per-frequency divisors, as llama.cpp reads them (`rope_freqs.weight`, F32
 * [head_dim / 2]); null for other RoPE types, whose scaling is metadata only.
 */
export function ropeFreqsTensor(config: HfLlamaConfig): Float32Array | null {
  const scaling = normalizeRopeFields(config).rope_scaling;
  if (!scaling || String(scaling.rope_type ?? scaling.type) !== 'llama3') return null;
  // convert_hf_to_gguf reads a top-level original_max_position_embeddings (default 8192) here;
  // we take rope_scaling's, which transformers uses and Llama 3.x configs set to 8192 too.
  return llama3RopeFreqFactors(config, scaling);
}

/** The tensors of a Llama GGUF, in file order, with their types for `weightType` (rope_freqs first, as convert yields it). */
export function llamaGgufTensors(shape: LlamaShape, weightType: GgufWeightType, ropeFreqs: Float32Array | null = null): LlamaGgufTensor[] {
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: HD, intermediateSize: I, vocabSize: V } = shape;
  const matrix = WEIGHT_GGML_TYPE[weightType];
  const list: LlamaGgufTensor[] = [];
  if (ropeFreqs) list.push({ ggufName: 'rope_freqs.weight', hfName: null, values: ropeFreqs, hfShape: [ropeFreqs.length], type: GgmlType.F32 });
  list.push({ ggufName: 'token_embd.weight', hfName: 'model.embed_tokens.weight', hfShape: [V, d], type: matrix });
  for (let l = 0; l < shape.numLayers; l++) {
    const hf = `model.layers.${l}.`;
    const blk = `blk.${l}.`;
    list.push(
      { ggufName: `${blk}attn_norm.weight`, hfName: `${hf}input_layernorm.weight`, hfShape: [d], type: GgmlType.F32 },
      { ggufName: `${blk}attn_q.weight`, hfName: `${hf}self_attn.q_proj.weight`, hfShape: [H * HD, d], type: matrix, permuteHeads: H },
      { ggufName: `${blk}attn_k.weight`, hfName: `${hf}self_attn.k_proj.weight`, hfShape: [KV * HD, d], type: matrix, permuteHeads: KV },
      { ggufName: `${blk}attn_v.weight`, hfName: `${hf}self_attn.v_proj.weight`, hfShape: [KV * HD, d], type: matrix },
      { ggufName: `${blk}attn_output.weight`, hfName: `${hf}self_attn.o_proj.weight`, hfShape: [d, H * HD], type: matrix },
      { ggufName: `${blk}ffn_norm.weight`, hfName: `${hf}post_attention_layernorm.weight`, hfShape: [d], type: GgmlType.F32 },
      { ggufName: `${blk}ffn_gate.weight`, hfName: `${hf}mlp.gate_proj.weight`, hfShape: [I, d], type: matrix },
      { ggufName: `${blk}ffn_up.weight`, hfName: `${hf}mlp.up_proj.weight`, hfShape: [I, d], type: matrix },
      { ggufName: `${blk}ffn_down.weight`, hfName: `${hf}mlp.down_proj.weight`, hfShape: [d, I], type: matrix },
    );
  }
  list.push({ ggufName: 'output_norm.weight', hfName: 'model.norm.weight', hfShape: [d], type: GgmlType.F32 });
  // Tied: no output.weight; llama.cpp falls back to token_embd for the head.
  if (!shape.tieWordEmbeddings) list.push({ ggufName: 'output.weight', hfName: 'lm_head.weight', hfShape: [V, d], type: matrix });
  return list;
}

/** A Hugging Face weight as the GGUF stores it, before encoding: q/k rows permuted. */
export function toGgufLayout(tensor: LlamaGgufTensor, values: Float32Array): Float32Array {
  return tensor.permuteHeads ? permuteRopeRows(values, tensor.permuteHeads, tensor.hfShape[1]) : values;
}

/**
 * The weight lookup a Hugging Face-layout reference needs to compute what llama.cpp computes from
 * this GGUF: each tensor rounded through its GGUF type (F16 rounding, Q4_0 or Q8_0 quantization, done
 * in the permuted layout exactly as the file holds it, then permuted back).
 */
export function ggufEffectiveWeights(shape: LlamaShape, weightType: GgufWeightType, weight: (hfName: string) => Float32Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const t of llamaGgufTensors(shape, weightType)) {
    if (t.hfName === null) continue;
    const stored = ggmlRoundTrip(toGgufLayout(t, weight(t.hfName)), t.type);
    out.set(t.hfName, t.permuteHeads ? unpermuteRopeRows(stored, t.permuteHeads, t.hfShape[1]) : stored);
  }
  return out;
}

/** The `llama.*` hyper-parameters and rope scaling, as TextModel/LlamaModel.set_gguf_parameters write them. */
export function llamaModelMetadata(config: HfLlamaConfig, shape: LlamaShape): Map<string, GgufValue> {
  const meta = new Map<string, GgufValue>([
    ['llama.block_count', gguf.u32(shape.numLayers)],
    ['llama.context_length', gguf.u32(shape.maxPositionEmbeddings)],
    ['llama.embedding_length', gguf.u32(shape.hiddenSize)],
    ['llama.feed_forward_length', gguf.u32(shape.intermediateSize)],
    ['llama.attention.head_count', gguf.u32(shape.numHeads)],
    ['llama.attention.head_count_kv', gguf.u32(shape.numKvHeads)],
    ['llama.rope.freq_base', gguf.f32(shape.ropeTheta)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(shape.rmsNormEps)],
    // Always written (convert writes them only when config has head_dim): llama.cpp's default
    // hidden/heads is wrong for Kanana, and explicit keys cost nothing.
    ['llama.attention.key_length', gguf.u32(shape.headDim)],
    ['llama.attention.value_length', gguf.u32(shape.headDim)],
    ['llama.vocab_size', gguf.u32(shape.vocabSize)],
    ['llama.rope.dimension_count', gguf.u32(shape.headDim)],
  ]);
  const scaling = normalizeRopeFields(config).rope_scaling;
  const ropeType = scaling ? String(scaling.rope_type ?? scaling.type ?? 'default') : 'default';
  if (ropeType === 'linear' && scaling?.factor !== undefined) {
    meta.set('llama.rope.scaling.type', gguf.string('linear'));
    meta.set('llama.rope.scaling.factor', gguf.f32(scaling.factor));
  } else if (ropeType === 'yarn' && scaling) {
    const originalMax = scaling.original_max_position_embeddings ?? config.max_position_embeddings;
    meta.set('llama.rope.scaling.type', gguf.string('yarn'));
    // Same factor as yarn.ts (an explicit factor wins over max / original).
    meta.set('llama.rope.scaling.factor', gguf.f32(scaling.factor ?? config.max_position_embeddings / originalMax));
    meta.set('llama.rope.scaling.original_context_length', gguf.u32(originalMax));
    const optional: [string, unknown][] = [
      ['yarn_ext_factor', scaling.extrapolation_factor],
      ['yarn_attn_factor', scaling.attention_factor ?? scaling.attn_factor],
      ['yarn_beta_fast', scaling.beta_fast],
      ['yarn_beta_slow', scaling.beta_slow],
    ];
    for (const [key, value] of optional) if (typeof value === 'number') meta.set(`llama.rope.scaling.${key}`, gguf.f32(value));
  } else if (ropeType !== 'default' && ropeType !== 'llama3') {
    // llama3 is the rope_freqs tensor (no metadata key, as convert writes it); others have no llama.cpp equivalent.
    throw new UnsupportedModelError(`rope_scaling type "${ropeType}" cannot be written to GGUF (default, linear, llama3 and yarn only).`, {
      unsupported: 'rope-type',
      value: ropeType,
    });
  }
  return meta;
}

// ---------------------------------------------------------------------------------------------
// Conversion

export type GgufProgress =
  | { kind: 'header'; headerBytes: number; fileBytes: number; tensors: number }
  | { kind: 'tensor'; name: string; done: number; total: number; bytesWritten: number; fileBytes: number };

export interface GgufConvertOptions {
  /** What weight matrices become (norms always stay F32). */
  type: GgufWeightType;
  /** general.name (optional). */
  name?: string;
  /** llama.cpp's tokenizer.ggml.pre; detected for Llama 3 tokenizers when omitted. */
  tokenizerPre?: string;
  onProgress?: (event: GgufProgress) => void;
}

export interface GgufSummary {
  fileBytes: number;
  headerBytes: number;
  tensors: (GgufTensorInfo & { offset: number; size: number })[];
}

/** Everything before the tensors: reads config and tokenizer files, returns the metadata. */
export async function llamaGgufMetadata(
  reader: CheckpointReader,
  options: Pick<GgufConvertOptions, 'type' | 'name' | 'tokenizerPre'>,
): Promise<{ config: HfLlamaConfig; shape: LlamaShape; metadata: Map<string, GgufValue> }> {
  const read = async (name: string) => {
    const bytes = await reader.readFile(name);
    if (!bytes) throw new ConversionError('missing-file', `${name} is missing from the checkpoint.`);
    return bytes;
  };
  const config = parseJson<HfLlamaConfig>(await read('config.json'), 'config.json');
  const shape = resolveLlamaShape(config);
  const tokenizer = parseJson<HfTokenizerJson>(await read('tokenizer.json'), 'tokenizer.json');
  const tokenizerConfigBytes = await reader.readFile('tokenizer_config.json');
  const tokenizerConfig = tokenizerConfigBytes ? parseJson<HfTokenizerConfig>(tokenizerConfigBytes, 'tokenizer_config.json') : {};
  const metadata = new Map<string, GgufValue>([['general.architecture', gguf.string('llama')]]);
  if (options.name) metadata.set('general.name', gguf.string(options.name));
  metadata.set('general.alignment', gguf.u32(GGUF_ALIGNMENT));
  for (const [k, v] of llamaModelMetadata(config, shape)) metadata.set(k, v);
  metadata.set('general.file_type', gguf.u32(LLAMA_FILE_TYPE[options.type]));
  for (const [k, v] of llamaTokenizerMetadata(config, tokenizer, tokenizerConfig, options.tokenizerPre)) metadata.set(k, v);
  metadata.set('general.quantization_version', gguf.u32(GGML_QUANT_VERSION));
  return { config, shape, metadata };
}

/**
 * Converts a Hugging Face Llama checkpoint into one GGUF file written to `out` (then closed).
 * Memory: one tensor at a time (as float32) plus the header (≈ 7 MB for a 128K vocabulary).
 */
export async function convertCheckpointToGguf(reader: CheckpointReader, out: OutputStream, options: GgufConvertOptions): Promise<GgufSummary> {
  try {
    if (!GGUF_WEIGHT_TYPES.includes(options.type)) {
      throw new GgufError('bad-type', `Unsupported GGUF type "${String(options.type)}" (supported: ${GGUF_WEIGHT_TYPES.join(', ')}).`);
    }
    const { config, shape, metadata } = await llamaGgufMetadata(reader, options);
    const tensors = await indexTensors(reader);
    const plan = llamaGgufTensors(shape, options.type, ropeFreqsTensor(config));
    for (const t of plan) {
      if (t.hfName === null) continue;
      const entry = tensors.get(t.hfName);
      if (!entry) throw new GgufError('missing-tensor', `Tensor ${t.hfName} is missing from the checkpoint.`);
      if (entry.info.shape.join(',') !== t.hfShape.join(',')) {
        throw new GgufError('bad-shape', `Tensor ${t.hfName} has shape [${entry.info.shape}], config.json implies [${t.hfShape}].`);
      }
    }
    const infos: GgufTensorInfo[] = plan.map((t) => ({ name: t.ggufName, dims: [...t.hfShape].reverse(), type: t.type }));
    const layout = layoutGguf(metadata, infos);
    options.onProgress?.({ kind: 'header', headerBytes: layout.header.length, fileBytes: layout.fileBytes, tensors: plan.length });
    await out.write(layout.header);
    let bytesWritten = layout.header.length;
    for (let i = 0; i < plan.length; i++) {
      const t = plan[i];
      const values = t.hfName === null ? t.values! : await readTensorAsFloat32(tensors.get(t.hfName)!.source, tensors.get(t.hfName)!.info);
      const bytes = encodeGgmlTensor(toGgufLayout(t, values), t.type);
      if (bytes.length !== layout.sizes[i]) throw new GgufError('size-mismatch', `${t.ggufName}: encoded ${bytes.length} bytes, expected ${layout.sizes[i]}.`);
      await out.write(bytes);
      const padding = (GGUF_ALIGNMENT - (bytes.length % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
      if (padding) await out.write(new Uint8Array(padding));
      bytesWritten += bytes.length + padding;
      options.onProgress?.({ kind: 'tensor', name: t.ggufName, done: i + 1, total: plan.length, bytesWritten, fileBytes: layout.fileBytes });
    }
    await out.close();
    return {
      fileBytes: layout.fileBytes,
      headerBytes: layout.header.length,
      tensors: infos.map((t, i) => ({ ...t, offset: layout.offsets[i], size: layout.sizes[i] })),
    };
  } finally {
    await reader.close?.();
  }
}
