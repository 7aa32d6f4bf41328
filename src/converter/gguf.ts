/**
 * GGUF (v3) writer for Llama-family checkpoints, so llama.cpp (wllama in the browser) can run the
 * very weights our ONNX graphs run. Mirrors what llama.cpp's convert_hf_to_gguf.py writes for
 * `LlamaForCausalLM` (`conversion/llama.py` + `TextModel.set_gguf_parameters` + `SpecialVocab`):
 * - the `llama` architecture keys, with key/value_length = head_dim (Kanana: 128 ≠ hidden/heads);
 * - q_proj/k_proj rows permuted per head from Hugging Face's rotate_half layout to llama.cpp's
 *   interleaved-pair RoPE (`LlamaModel.permute`);
 * - tied embeddings: no output.weight, llama.cpp then uses token_embd as the head;
 * - the GPT-2-style BPE vocabulary (tokens, token types, merges, special ids, chat template).
 * Weight matrices are F32, F16 or Q4_0 (ggml's block layout, bit-exact with llama.cpp's
 * `quantize_row_q4_0_ref`); norm weights always stay F32, as in llama.cpp.
 *
 * Plain TypeScript over the converter's CheckpointReader and OutputStream (no Node or DOM API):
 * header and tensor infos are written first (every size is known from the safetensors headers),
 * then each tensor is read, converted, written and dropped, so a multi-GB checkpoint streams.
 */
import { resolveLlamaShape, normalizeRopeFields, UnsupportedModelError, type HfLlamaConfig, type LlamaShape } from '../model/config.ts';
import { ConversionError, indexTensors, parseJson, type CheckpointReader, type OutputStream } from './convert.ts';
import { float16BitsToFloat32, float32ToFloat16Bits, toFloat16 } from './quantize.ts';
import { readTensorAsFloat32 } from './safetensors.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** ggml tensor types (ggml.h `enum ggml_type`) that this writer produces. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
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

/** What the weight matrices are stored as; `general.file_type` follows (llama.h LLAMA_FTYPE_*). */
export type GgufWeightType = 'f32' | 'f16' | 'q4_0';
export const GGUF_WEIGHT_TYPES: readonly GgufWeightType[] = ['f32', 'f16', 'q4_0'];
const WEIGHT_GGML_TYPE: Record<GgufWeightType, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, q4_0: GgmlType.Q4_0 };
const LLAMA_FILE_TYPE: Record<GgufWeightType, number> = { f32: 0, f16: 1, q4_0: 2 };
/** gguf-py's GGML_QUANT_VERSION, written as general.quantization_version. */
const GGML_QUANT_VERSION = 2;

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

export const Q4_0_BLOCK = 32;
/** fp16 scale + 16 bytes of nibbles (ggml-common.h `block_q4_0`). */
export const Q4_0_BLOCK_BYTES = 2 + Q4_0_BLOCK / 2;

export function ggmlTensorBytes(type: GgmlType, elements: number): number {
  switch (type) {
    case GgmlType.F32:
      return elements * 4;
    case GgmlType.F16:
      return elements * 2;
    case GgmlType.Q4_0:
      return (elements / Q4_0_BLOCK) * Q4_0_BLOCK_BYTES;
  }
}

/**
 * ggml's `quantize_row_q4_0_ref` over rows of a multiple of 32 values: per block of 32,
 * d = (the value of largest magnitude, with its sign) / −8, q = min(15, trunc(x/d + 8.5)); byte j
 * holds element j in its low nibble and element j + 16 in its high nibble. Every step is rounded
 * to float32 where C rounds it, so the bytes are identical to llama.cpp's.
 */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  if (values.length % Q4_0_BLOCK !== 0) throw new GgufError('bad-shape', `Q4_0 needs a multiple of ${Q4_0_BLOCK} values, got ${values.length}.`);
  const blocks = values.length / Q4_0_BLOCK;
  const out = new Uint8Array(blocks * Q4_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const f = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const start = b * Q4_0_BLOCK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < Q4_0_BLOCK; j++) {
      const v = values[start + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    const o = b * Q4_0_BLOCK_BYTES;
    view.setUint16(o, float32ToFloat16Bits(d), true);
    for (let j = 0; j < Q4_0_BLOCK / 2; j++) {
      // (int8_t) truncates toward zero; the sums are ≥ 0.5 here, so trunc is floor.
      const lo = Math.min(15, Math.trunc(f(f(values[start + j] * id) + 8.5)));
      const hi = Math.min(15, Math.trunc(f(f(values[start + j + 16] * id) + 8.5)));
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

/** ggml's `dequantize_row_q4_0`: the float32 weights llama.cpp computes with. */
export function dequantizeQ4_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / Q4_0_BLOCK; b++) {
    const o = b * Q4_0_BLOCK_BYTES;
    const d = float16BitsToFloat32(view.getUint16(o, true));
    for (let j = 0; j < Q4_0_BLOCK / 2; j++) {
      const byte = bytes[o + 2 + j];
      out[b * Q4_0_BLOCK + j] = ((byte & 0x0f) - 8) * d;
      out[b * Q4_0_BLOCK + j + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

/** Raw little-endian bytes of a tensor in `type`. */
export function encodeGgmlTensor(values: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case GgmlType.F16: {
      const half = toFloat16(values);
      return new Uint8Array(half.buffer);
    }
    case GgmlType.Q4_0:
      return quantizeQ4_0(values);
  }
}

/**
 * The float32 values llama.cpp computes with for a tensor stored as `type` (weights only:
 * activations are its own business, e.g. Q4_0 matmuls quantize them to Q8_0 on the CPU).
 */
export function ggmlRoundTrip(values: Float32Array, type: GgmlType): Float32Array {
  switch (type) {
    case GgmlType.F32:
      return values;
    case GgmlType.F16:
      return Float32Array.from(toFloat16(values), float16BitsToFloat32);
    case GgmlType.Q4_0:
      return dequantizeQ4_0(quantizeQ4_0(values), values.length);
  }
}

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

// ---------------------------------------------------------------------------------------------
// Llama: tensors and metadata

/** One GGUF tensor of a Llama model and the Hugging Face tensor it comes from. */
export interface LlamaGgufTensor {
  ggufName: string;
  hfName: string;
  /** The Hugging Face shape: [rows, cols] for matrices, [n] for norms. */
  hfShape: number[];
  type: GgmlType;
  /** q_proj/k_proj: the head count to permute rows by (llama.cpp's RoPE layout). */
  permuteHeads?: number;
}

/** The tensors of a Llama GGUF, in file order, with their types for `weightType`. */
export function llamaGgufTensors(shape: LlamaShape, weightType: GgufWeightType): LlamaGgufTensor[] {
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: HD, intermediateSize: I, vocabSize: V } = shape;
  const matrix = WEIGHT_GGML_TYPE[weightType];
  const list: LlamaGgufTensor[] = [{ ggufName: 'token_embd.weight', hfName: 'model.embed_tokens.weight', hfShape: [V, d], type: matrix }];
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
 * this GGUF: each tensor rounded through its GGUF type (F16 rounding or Q4_0 quantization, done
 * in the permuted layout exactly as the file holds it, then permuted back).
 */
export function ggufEffectiveWeights(shape: LlamaShape, weightType: GgufWeightType, weight: (hfName: string) => Float32Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const t of llamaGgufTensors(shape, weightType)) {
    const stored = ggmlRoundTrip(toGgufLayout(t, weight(t.hfName)), t.type);
    out.set(t.hfName, t.permuteHeads ? unpermuteRopeRows(stored, t.permuteHeads, t.hfShape[1]) : stored);
  }
  return out;
}

/** The parts of tokenizer.json this writer reads. */
export interface HfTokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  pre_tokenizer?: unknown;
  post_processor?: unknown;
}

export type HfTokenizerConfig = Record<string, unknown> & { chat_template?: unknown };

/** gguf-py's TokenType. */
const TOKEN_TYPE = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

/** Llama 3's pre-tokenizer regex; llama.cpp calls this pre-tokenizer "llama-bpe". */
const LLAMA3_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * llama.cpp names BPE pre-tokenizers by hashing a tokenization (convert_hf_to_gguf's
 * get_vocab_base_pre), which needs the Python tokenizer; here the Llama 3 pre-tokenizer is
 * recognized by its split regex instead, the one Kanana ships.
 */
export function detectTokenizerPre(tokenizer: HfTokenizerJson): string | null {
  return JSON.stringify(tokenizer.pre_tokenizer ?? null).includes(JSON.stringify(LLAMA3_SPLIT_REGEX)) ? 'llama-bpe' : null;
}

/** convert_hf_to_gguf's does_token_look_special (the rules relevant to BPE vocabularies). */
function looksSpecial(token: string): boolean {
  return (token.startsWith('<|') && token.endsWith('|>')) || (token.startsWith('<｜') && token.endsWith('｜>')) || ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token);
}

/** tokenizer_config's `bos_token` etc.: a string or an AddedToken object. */
function tokenContent(entry: unknown): string | null {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as { content?: unknown }).content === 'string') return (entry as { content: string }).content;
  return null;
}

/** The GPT-2-style vocabulary keys, as `_set_vocab_gpt2` + `SpecialVocab(load_merges=True)` write them. */
export function llamaTokenizerMetadata(config: HfLlamaConfig, tokenizer: HfTokenizerJson, tokenizerConfig: HfTokenizerConfig, pre?: string): Map<string, GgufValue> {
  if (tokenizer.model.type !== 'BPE' || tokenizer.model.byte_fallback) {
    throw new GgufError('unsupported-tokenizer', 'Only byte-level BPE tokenizers (GPT-2 / Llama 3 style tokenizer.json) can be written to GGUF.');
  }
  const tokenizerPre = pre ?? detectTokenizerPre(tokenizer);
  if (!tokenizerPre) {
    throw new GgufError('unsupported-tokenizer', 'Unrecognized BPE pre-tokenizer (only Llama 3\'s "llama-bpe" is detected); pass the llama.cpp pre-tokenizer name explicitly.');
  }
  const vocabSize = config.vocab_size;
  const tokens: string[] = new Array(vocabSize);
  const types = new Int32Array(vocabSize);
  for (const [token, id] of Object.entries(tokenizer.model.vocab)) {
    if (id >= vocabSize) throw new GgufError('size-mismatch', `Token id ${id} is outside vocab_size ${vocabSize}.`);
    tokens[id] = token;
    types[id] = TOKEN_TYPE.NORMAL;
  }
  const added = tokenizer.added_tokens ?? [];
  for (const t of added) {
    if (t.id >= vocabSize) throw new GgufError('size-mismatch', `Added token id ${t.id} is outside vocab_size ${vocabSize}.`);
    tokens[t.id] = t.content;
    types[t.id] = t.special || looksSpecial(t.content) ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
  }
  for (let i = 0; i < vocabSize; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = TOKEN_TYPE.UNUSED;
    }
  }
  // Merges: "a b" strings, or [a, b] pairs (transformers ≥ 4.45) with spaces encoded as U+0120.
  const merges = (tokenizer.model.merges ?? []).map((m) =>
    typeof m === 'string' ? m : m.map((part) => part.replaceAll(' ', String.fromCharCode(' '.charCodeAt(0) + 256))).join(' '),
  );

  const meta = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string(tokenizerPre)],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
  ]);
  if (merges.length) meta.set('tokenizer.ggml.merges', gguf.strings(merges));

  // Special ids: tokenizer_config's token strings first, then config.json's integer ids.
  const idOf = (content: string | null) => (content === null ? undefined : added.find((t) => t.content === content)?.id);
  const keyOf: Record<string, string> = { bos: 'bos', eos: 'eos', unk: 'unknown', sep: 'seperator', pad: 'padding', cls: 'cls', mask: 'mask' };
  for (const [typ, key] of Object.entries(keyOf)) {
    const fromTokenizer = idOf(tokenContent(tokenizerConfig[`${typ}_token`]));
    const fromConfig = config[`${typ}_token_id`];
    const id = fromTokenizer ?? (typeof fromConfig === 'number' ? fromConfig : undefined);
    if (id !== undefined && id >= 0 && id < vocabSize) meta.set(`tokenizer.ggml.${key}_token_id`, gguf.u32(id));
  }
  const addBos = addsBosByTemplate(tokenizer, tokenizerConfig);
  for (const typ of ['bos', 'eos'] as const) {
    const explicit = tokenizerConfig[`add_${typ}_token`];
    const value = typeof explicit === 'boolean' ? explicit : typ === 'bos' ? addBos : undefined;
    if (value !== undefined) meta.set(`tokenizer.ggml.add_${typ}_token`, gguf.bool(value));
  }
  if (typeof tokenizerConfig.chat_template === 'string') meta.set('tokenizer.chat_template', gguf.string(tokenizerConfig.chat_template));
  return meta;
}

/** SpecialVocab's reading of a TemplateProcessing post-processor: does it put bos first? */
function addsBosByTemplate(tokenizer: HfTokenizerJson, tokenizerConfig: HfTokenizerConfig): boolean | undefined {
  type Processor = { type?: string; single?: { SpecialToken?: { id?: string } }[]; processors?: Processor[] };
  const root = tokenizer.post_processor as Processor | null | undefined;
  if (!root) return undefined;
  for (const p of root.processors ?? [root]) {
    if (p.type !== 'TemplateProcessing' || !p.single || p.single.length < 2) continue;
    const first = p.single[0].SpecialToken?.id;
    if (first) return first === tokenContent(tokenizerConfig.bos_token);
  }
  return undefined;
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
  } else if (ropeType !== 'default') {
    // llama3 needs a rope_freqs tensor and others have no llama.cpp equivalent: not written (yet).
    throw new UnsupportedModelError(`rope_scaling type "${ropeType}" cannot be written to GGUF (default, linear and yarn only).`);
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
export async function llamaGgufMetadata(reader: CheckpointReader, options: Pick<GgufConvertOptions, 'type' | 'name' | 'tokenizerPre'>): Promise<{ config: HfLlamaConfig; shape: LlamaShape; metadata: Map<string, GgufValue> }> {
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
    const { shape, metadata } = await llamaGgufMetadata(reader, options);
    const tensors = await indexTensors(reader);
    const plan = llamaGgufTensors(shape, options.type);
    for (const t of plan) {
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
      const entry = tensors.get(t.hfName)!;
      const bytes = encodeGgmlTensor(toGgufLayout(t, await readTensorAsFloat32(entry.source, entry.info)), t.type);
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
