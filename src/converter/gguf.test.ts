/**
 * The GGUF writer, read back by an independent minimal GGUF v3 reader written here from the
 * format description (ggml's docs/gguf.md), not from the writer's code: metadata, tensor infos,
 * alignment and tensor bytes; Q4_0 blocks against hand-computed bytes and error bounds; the q/k
 * row permutation checked by what it is for (attention scores with llama.cpp's RoPE equal
 * Hugging Face's).
 */
import { describe, expect, it } from 'vitest';
import type { HfLlamaConfig } from '../model/config.ts';
import { applyRope } from '../model/reference.ts';
import { syntheticLlamaWeights } from '../model/synthetic.ts';
import { computeDefaultInvFreq, computeRopeParameters, llama3RopeFreqFactors } from '../model/yarn.ts';
import type { CheckpointReader, OutputStream } from './convert.ts';
import { convertCheckpointToGguf, ggufEffectiveWeights, type GgufConvertOptions } from './gguf.ts';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from './ggml-quant.ts';
import { GgufError } from './gguf-container.ts';
import { float16BitsToFloat32 } from '../lib/float16.ts';
import { encodeSafetensors, memorySource } from './safetensors.ts';
import { resolveLlamaShape } from '../model/config.ts';

// ---------------------------------------------------------------------------------------------
// An independent GGUF reader (little-endian v3 only; the value types this writer may use).

type Value = number | bigint | boolean | string | Value[];
interface ParsedTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}
interface ParsedGguf {
  version: number;
  metadata: Map<string, Value>;
  /** Each key's value type as written. */
  valueTypes: Map<string, number>;
  tensors: ParsedTensor[];
  dataStart: number;
  bytes: Uint8Array;
}

function parseGguf(bytes: Uint8Array): ParsedGguf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let p = 0;
  const u32 = () => ((p += 4), view.getUint32(p - 4, true));
  const u64 = () => ((p += 8), Number(view.getBigUint64(p - 8, true)));
  const str = () => {
    const n = u64();
    p += n;
    return decoder.decode(bytes.subarray(p - n, p));
  };
  const value = (type: number): Value => {
    switch (type) {
      case 0:
        return view.getUint8(p++);
      case 1:
        return view.getInt8(p++);
      case 2:
        return ((p += 2), view.getUint16(p - 2, true));
      case 3:
        return ((p += 2), view.getInt16(p - 2, true));
      case 4:
        return u32();
      case 5:
        return ((p += 4), view.getInt32(p - 4, true));
      case 6:
        return ((p += 4), view.getFloat32(p - 4, true));
      case 7:
        return view.getUint8(p++) !== 0;
      case 8:
        return str();
      case 9: {
        const itemType = u32();
        return Array.from({ length: u64() }, () => value(itemType));
      }
      case 10:
        return ((p += 8), view.getBigUint64(p - 8, true));
      case 11:
        return ((p += 8), view.getBigInt64(p - 8, true));
      case 12:
        return ((p += 8), view.getFloat64(p - 8, true));
      default:
        throw new Error(`unknown GGUF value type ${type}`);
    }
  };
  if (decoder.decode(bytes.subarray(0, 4)) !== 'GGUF') throw new Error('bad magic');
  p = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const metadata = new Map<string, Value>();
  const valueTypes = new Map<string, number>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    valueTypes.set(key, type);
    metadata.set(key, value(type));
  }
  const tensors: ParsedTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const dims = Array.from({ length: u32() }, () => u64());
    tensors.push({ name, dims, type: u32(), offset: u64() });
  }
  const alignment = Number(metadata.get('general.alignment') ?? 32);
  const dataStart = Math.ceil(p / alignment) * alignment;
  return { version, metadata, valueTypes, tensors, dataStart, bytes };
}

/** A tensor's bytes, by the sizes ggml defines (F32 4, F16 2, Q4_0 18 per 32, Q8_0 34 per 32). */
function tensorBytes(file: ParsedGguf, name: string): Uint8Array {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  const n = t.dims.reduce((a, b) => a * b, 1);
  const size = t.type === 0 ? n * 4 : t.type === 1 ? n * 2 : t.type === 8 ? (n / 32) * 34 : (n / 32) * 18;
  const start = file.dataStart + t.offset;
  return file.bytes.slice(start, start + size);
}
const asFloat32 = (bytes: Uint8Array) => new Float32Array(bytes.slice().buffer);

// ---------------------------------------------------------------------------------------------
// A small in-memory checkpoint with Kanana's quirk (head_dim 32 ≠ hidden 64 / 4 heads).

const config: HfLlamaConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  vocab_size: 40,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 2048,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 34,
  eos_token_id: [35, 36],
  torch_dtype: 'float32',
};

const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const vocab = Object.fromEntries(['a', 'b', 'c', 'Ġ', 'ab', 'Ġa', '한', '국'].map((t, i) => [t, i]));
const tokenizerJson = {
  model: {
    type: 'BPE',
    vocab,
    merges: [
      ['a', 'b'],
      ['Ġ', 'a'],
      [' x', 'y'],
    ],
    byte_fallback: false,
    ignore_merges: true,
  },
  added_tokens: [
    { id: 34, content: '<|begin_of_text|>', special: true },
    { id: 35, content: '<|end_of_text|>', special: true },
    { id: 36, content: '<|eot_id|>', special: true },
    { id: 37, content: '<|tool|>', special: false },
    { id: 38, content: '<extra>', special: false },
  ],
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [{ type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel' }],
  },
  post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] },
};
const tokenizerConfig = { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', chat_template: '{{ bos_token }}{{ messages[0].content }}' };

const encodeJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function checkpoint(cfg: HfLlamaConfig, weights = syntheticLlamaWeights(cfg, 7), tokenizer: unknown = tokenizerJson): CheckpointReader {
  const files = new Map<string, Uint8Array>([
    ['config.json', encodeJson(cfg)],
    ['tokenizer.json', encodeJson(tokenizer)],
    ['tokenizer_config.json', encodeJson(tokenizerConfig)],
    [
      'model.safetensors',
      encodeSafetensors([...weights].map(([name, v]) => ({ name, dtype: 'F32', shape: shapeOf(cfg, name), data: new Uint8Array(v.buffer) }))),
    ],
  ]);
  return {
    readFile: async (name) => files.get(name) ?? null,
    openFile: async (name) => (files.has(name) ? memorySource(files.get(name)!) : null),
  };
}

function shapeOf(cfg: HfLlamaConfig, name: string): number[] {
  const s = resolveLlamaShape(cfg);
  if (name.endsWith('norm.weight')) return [s.hiddenSize];
  if (name.includes('embed_tokens') || name.startsWith('lm_head')) return [s.vocabSize, s.hiddenSize];
  if (name.includes('q_proj')) return [s.numHeads * s.headDim, s.hiddenSize];
  if (name.includes('k_proj') || name.includes('v_proj')) return [s.numKvHeads * s.headDim, s.hiddenSize];
  if (name.includes('o_proj')) return [s.hiddenSize, s.numHeads * s.headDim];
  if (name.includes('down_proj')) return [s.hiddenSize, s.intermediateSize];
  return [s.intermediateSize, s.hiddenSize];
}

function memoryOutput(): OutputStream & { bytes(): Uint8Array; closed: boolean } {
  const chunks: Uint8Array[] = [];
  const out = {
    closed: false,
    write: async (b: Uint8Array) => void chunks.push(b.slice()),
    close: async () => void (out.closed = true),
    bytes: () => {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.length;
      }
      return all;
    },
  };
  return out;
}

async function convert(options: GgufConvertOptions, cfg = config, weights?: Map<string, Float32Array>) {
  const out = memoryOutput();
  const summary = await convertCheckpointToGguf(checkpoint(cfg, weights), out, options);
  expect(out.closed).toBe(true);
  const bytes = out.bytes();
  expect(bytes.length).toBe(summary.fileBytes);
  return parseGguf(bytes);
}

// ---------------------------------------------------------------------------------------------

describe('GGUF metadata', () => {
  it('writes the llama.cpp keys, with key/value length = head_dim, in their GGUF value types', async () => {
    const file = await convert({ type: 'f32', name: 'tiny' });
    const m = file.metadata;
    expect(file.version).toBe(3);
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('general.name')).toBe('tiny');
    expect(m.get('general.file_type')).toBe(0);
    expect(m.get('llama.context_length')).toBe(2048);
    expect(m.get('llama.embedding_length')).toBe(64);
    expect(m.get('llama.block_count')).toBe(2);
    expect(m.get('llama.feed_forward_length')).toBe(96);
    expect(m.get('llama.attention.head_count')).toBe(4);
    expect(m.get('llama.attention.head_count_kv')).toBe(2);
    expect(m.get('llama.attention.key_length')).toBe(32);
    expect(m.get('llama.attention.value_length')).toBe(32);
    expect(m.get('llama.rope.dimension_count')).toBe(32);
    expect(m.get('llama.vocab_size')).toBe(40);
    expect(m.get('llama.rope.freq_base')).toBe(500000);
    expect(m.get('llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
    expect(m.has('llama.rope.scaling.type')).toBe(false);
    // uint32 (4) for counts, float32 (6) for floats, as gguf-py writes them
    expect(file.valueTypes.get('llama.block_count')).toBe(4);
    expect(file.valueTypes.get('llama.rope.freq_base')).toBe(6);
  });

  it('writes the GPT-2 BPE vocabulary as convert_hf_to_gguf does', async () => {
    const m = (await convert({ type: 'f32' })).metadata;
    expect(m.get('tokenizer.ggml.model')).toBe('gpt2');
    expect(m.get('tokenizer.ggml.pre')).toBe('llama-bpe');
    const tokens = m.get('tokenizer.ggml.tokens') as string[];
    const types = m.get('tokenizer.ggml.token_type') as number[];
    expect(tokens).toHaveLength(40);
    expect(tokens.slice(0, 8)).toEqual(['a', 'b', 'c', 'Ġ', 'ab', 'Ġa', '한', '국']);
    expect(tokens[8]).toBe('[PAD8]');
    expect(tokens[36]).toBe('<|eot_id|>');
    // normal 1, control 3 (special or <|…|>-looking), user-defined 4, unused 5
    expect(types.slice(0, 9)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 5]);
    expect(types.slice(34, 40)).toEqual([3, 3, 3, 3, 4, 5]);
    // pair merges become "a b"; a space inside a part is written as U+0120
    expect(m.get('tokenizer.ggml.merges')).toEqual(['a b', 'Ġ a', 'Ġx y']);
    expect(m.get('tokenizer.ggml.bos_token_id')).toBe(34);
    expect(m.get('tokenizer.ggml.eos_token_id')).toBe(36); // tokenizer_config's eos wins over config.json's list
    expect(m.get('tokenizer.ggml.add_bos_token')).toBe(true); // TemplateProcessing puts bos first
    expect(m.get('tokenizer.chat_template')).toBe(tokenizerConfig.chat_template);
  });

  it('writes YaRN rope scaling the way convert_hf_to_gguf does', async () => {
    const yarn = { ...config, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 512, beta_fast: 32, beta_slow: 1 } };
    const m = (await convert({ type: 'f32' }, yarn, syntheticLlamaWeights(config, 7))).metadata;
    expect(m.get('llama.rope.scaling.type')).toBe('yarn');
    expect(m.get('llama.rope.scaling.factor')).toBe(4);
    expect(m.get('llama.rope.scaling.original_context_length')).toBe(512);
    expect(m.get('llama.rope.scaling.yarn_beta_fast')).toBe(32);
    expect(m.get('llama.rope.scaling.yarn_beta_slow')).toBe(1);
    expect(m.has('llama.rope.scaling.yarn_attn_factor')).toBe(false);
  });
  it('writes llama3 RoPE as convert_hf_to_gguf does: a rope_freqs.weight tensor of divisors first, no scaling keys', async () => {
    const scaling = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    const llama3 = { ...config, rope_scaling: scaling };
    const file = await convert({ type: 'q4_0' }, llama3, syntheticLlamaWeights(config, 7));
    expect([...file.metadata.keys()].filter((k) => k.startsWith('llama.rope.scaling'))).toEqual([]);
    expect(file.tensors[0]).toMatchObject({ name: 'rope_freqs.weight', dims: [16], type: 0 });
    const divisors = asFloat32(tensorBytes(file, 'rope_freqs.weight'));
    expect(divisors).toEqual(llama3RopeFreqFactors(llama3, scaling));
    // llama.cpp's angle pos·base^(-2i/d) / divisor_i is transformers' llama3 inv_freq.
    const { invFreq } = computeRopeParameters(llama3);
    computeDefaultInvFreq(500000, 32).forEach((f, i) => expect(f / divisors[i] / invFreq[i]).toBeCloseTo(1, 6));
    expect(file.tensors).toHaveLength(1 + 1 + 2 * 9 + 1);
  });
});

describe('GGUF tensors', () => {
  it('lays out tensor infos (dims innermost first, norms F32) and aligned data', async () => {
    const file = await convert({ type: 'q4_0' });
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect(file.tensors).toHaveLength(1 + 2 * 9 + 1); // tied: no output.weight
    expect(byName.has('output.weight')).toBe(false);
    expect(byName.get('token_embd.weight')).toMatchObject({ dims: [64, 40], type: 2 });
    expect(byName.get('blk.0.attn_q.weight')).toMatchObject({ dims: [64, 128], type: 2 });
    expect(byName.get('blk.1.attn_k.weight')).toMatchObject({ dims: [64, 64], type: 2 });
    expect(byName.get('blk.1.attn_output.weight')).toMatchObject({ dims: [128, 64], type: 2 });
    expect(byName.get('blk.0.ffn_down.weight')).toMatchObject({ dims: [96, 64], type: 2 });
    for (const norm of ['blk.0.attn_norm.weight', 'blk.1.ffn_norm.weight', 'output_norm.weight']) {
      expect(byName.get(norm)).toMatchObject({ dims: [64], type: 0 });
    }
    expect(file.dataStart % 32).toBe(0);
    for (const t of file.tensors) expect(t.offset % 32).toBe(0);
    expect(file.metadata.get('general.file_type')).toBe(2);
  });

  it('stores F32 weights unchanged except q/k, whose rows follow llama.cpp RoPE pairs', async () => {
    const weights = syntheticLlamaWeights(config, 7);
    const file = await convert({ type: 'f32' }, config, weights);
    expect(asFloat32(tensorBytes(file, 'token_embd.weight'))).toEqual(weights.get('model.embed_tokens.weight'));
    expect(asFloat32(tensorBytes(file, 'blk.1.attn_v.weight'))).toEqual(weights.get('model.layers.1.self_attn.v_proj.weight'));
    expect(asFloat32(tensorBytes(file, 'blk.0.ffn_norm.weight'))).toEqual(weights.get('model.layers.0.post_attention_layernorm.weight'));

    // What the permutation is for: with llama.cpp's RoPE (adjacent pairs 2i, 2i+1 rotated by
    // frequency i) on the file's q/k, every attention score equals Hugging Face's rotate_half
    // RoPE on the original q/k.
    const { numHeads: H, numKvHeads: KV, headDim: HD, hiddenSize: d } = resolveLlamaShape(config);
    const invFreq = computeDefaultInvFreq(500000, HD);
    const x = Float32Array.from({ length: d }, (_, i) => Math.sin(i * 1.3));
    const y = Float32Array.from({ length: d }, (_, i) => Math.cos(i * 0.7));
    const matVec = (w: Float32Array, v: Float32Array) =>
      Float32Array.from({ length: w.length / v.length }, (_, r) => v.reduce((s, vi, c) => s + w[r * v.length + c] * vi, 0));
    const ropeAdjacent = (v: Float32Array, heads: number, pos: number) => {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < HD / 2; i++) {
          const a = v[h * HD + 2 * i];
          const b = v[h * HD + 2 * i + 1];
          const angle = Math.fround(pos * invFreq[i]);
          v[h * HD + 2 * i] = a * Math.cos(angle) - b * Math.sin(angle);
          v[h * HD + 2 * i + 1] = b * Math.cos(angle) + a * Math.sin(angle);
        }
      }
      return v;
    };
    const ropeHf = (v: Float32Array, heads: number, pos: number) => {
      for (let h = 0; h < heads; h++) applyRope(v, h * HD, HD, pos, { invFreq, attentionFactor: 1 });
      return v;
    };
    const qHf = ropeHf(matVec(weights.get('model.layers.0.self_attn.q_proj.weight')!, x), H, 9);
    const kHf = ropeHf(matVec(weights.get('model.layers.0.self_attn.k_proj.weight')!, y), KV, 4);
    const qCpp = ropeAdjacent(matVec(asFloat32(tensorBytes(file, 'blk.0.attn_q.weight')), x), H, 9);
    const kCpp = ropeAdjacent(matVec(asFloat32(tensorBytes(file, 'blk.0.attn_k.weight')), y), KV, 4);
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / (H / KV));
      let hf = 0;
      let cpp = 0;
      for (let j = 0; j < HD; j++) {
        hf += qHf[h * HD + j] * kHf[kv * HD + j];
        cpp += qCpp[h * HD + j] * kCpp[kv * HD + j];
      }
      expect(cpp).toBeCloseTo(hf, 3);
    }
  });

  it('writes an untied head as output.weight', async () => {
    const untied = { ...config, tie_word_embeddings: false };
    const weights = syntheticLlamaWeights(untied, 7);
    const file = await convert({ type: 'f16' }, untied, weights);
    const head = tensorBytes(file, 'output.weight');
    const values = Float32Array.from(new Uint16Array(head.buffer), float16BitsToFloat32);
    const original = weights.get('lm_head.weight')!;
    for (let i = 0; i < original.length; i++) expect(Math.abs(values[i] - original[i])).toBeLessThanOrEqual(Math.abs(original[i]) * 2 ** -11 + 2 ** -25);
    expect(file.metadata.get('general.file_type')).toBe(1);
  });

  it('stores in Q4_0 exactly what ggufEffectiveWeights says llama.cpp computes with', async () => {
    const weights = syntheticLlamaWeights(config, 7);
    const file = await convert({ type: 'q4_0' }, config, weights);
    const effective = ggufEffectiveWeights(resolveLlamaShape(config), 'q4_0', (n) => weights.get(n)!);
    expect(dequantizeQ4_0(tensorBytes(file, 'token_embd.weight'), 40 * 64)).toEqual(effective.get('model.embed_tokens.weight'));
    expect(dequantizeQ4_0(tensorBytes(file, 'blk.1.ffn_down.weight'), 64 * 96)).toEqual(effective.get('model.layers.1.mlp.down_proj.weight'));
    // q: the file's rows are permuted; effective weights are in Hugging Face's order again.
    const q = dequantizeQ4_0(tensorBytes(file, 'blk.0.attn_q.weight'), 128 * 64);
    const qEffective = effective.get('model.layers.0.self_attn.q_proj.weight')!;
    for (let h = 0; h < 4; h++) {
      for (let i = 0; i < 16; i++) {
        expect(q.subarray((h * 32 + 2 * i) * 64, (h * 32 + 2 * i + 1) * 64)).toEqual(qEffective.subarray((h * 32 + i) * 64, (h * 32 + i + 1) * 64));
        expect(q.subarray((h * 32 + 2 * i + 1) * 64, (h * 32 + 2 * i + 2) * 64)).toEqual(qEffective.subarray((h * 32 + 16 + i) * 64, (h * 32 + 17 + i) * 64));
      }
    }
    expect(effective.get('model.norm.weight')).toEqual(weights.get('model.norm.weight')); // F32, untouched
  });

  it('stores in Q8_0 exactly what ggufEffectiveWeights says llama.cpp computes with', async () => {
    const weights = syntheticLlamaWeights(config, 7);
    const file = await convert({ type: 'q8_0' }, config, weights);
    expect(file.metadata.get('general.file_type')).toBe(7); // LLAMA_FTYPE_MOSTLY_Q8_0
    expect(file.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')?.type).toBe(8);
    expect(file.tensors.find((t) => t.name === 'blk.0.ffn_norm.weight')?.type).toBe(0);
    const effective = ggufEffectiveWeights(resolveLlamaShape(config), 'q8_0', (n) => weights.get(n)!);
    expect(dequantizeQ8_0(tensorBytes(file, 'token_embd.weight'), 40 * 64)).toEqual(effective.get('model.embed_tokens.weight'));
    expect(dequantizeQ8_0(tensorBytes(file, 'blk.1.ffn_down.weight'), 64 * 96)).toEqual(effective.get('model.layers.1.mlp.down_proj.weight'));
    // v is not permuted: the file's rows are Hugging Face's.
    expect(dequantizeQ8_0(tensorBytes(file, 'blk.0.attn_v.weight'), 64 * 64)).toEqual(effective.get('model.layers.0.self_attn.v_proj.weight'));
  });

  it('rejects what it cannot write, with typed errors', async () => {
    await expect(convert({ type: 'q5_0' as 'f32' })).rejects.toMatchObject({ code: 'bad-type' });
    const missing = syntheticLlamaWeights(config, 7);
    missing.delete('model.layers.1.mlp.up_proj.weight');
    await expect(convert({ type: 'f32' }, config, missing)).rejects.toMatchObject({ code: 'missing-tensor' });
    const otherPre = { ...tokenizerJson, pre_tokenizer: { type: 'ByteLevel' } };
    await expect(convertCheckpointToGguf(checkpoint(config, undefined, otherPre), memoryOutput(), { type: 'f32' })).rejects.toBeInstanceOf(GgufError);
    await expect(
      convertCheckpointToGguf(checkpoint(config, undefined, otherPre), memoryOutput(), { type: 'f32', tokenizerPre: 'gpt-2' }),
    ).resolves.toBeTruthy();
  });
});

describe('Q4_0 blocks', () => {
  const block = (bytes: Uint8Array) => ({ d: new DataView(bytes.buffer).getUint16(0, true), qs: Array.from(bytes.subarray(2)) });

  it('matches hand-computed quantize_row_q4_0_ref bytes', () => {
    // Largest magnitude −8 → d = −8 / −8 = 1 (fp16 0x3c00); q = trunc(x + 8.5), capped at 15.
    const x = new Float32Array(32);
    for (let j = 0; j < 16; j++) x[j] = j - 8; // q = 0 … 15 (7 + 8.5 = 15.5 → 15)
    x.set([0.5, -0.5, 0.49, -0.51, 7.9, -7.9, 3, -3], 16); // q = 9, 8, 8, 7, 15 (16 capped), 0, 11, 5
    const expectedHigh = [9, 8, 8, 7, 15, 0, 11, 5, 8, 8, 8, 8, 8, 8, 8, 8];
    expect(block(quantizeQ4_0(x))).toEqual({ d: 0x3c00, qs: expectedHigh.map((hi, j) => j | (hi << 4)) });

    // Largest magnitude +4 → d = 4 / −8 = −0.5 (fp16 0xb800): 4 → q 0, zeros → q 8.
    const y = new Float32Array(32);
    y[5] = 4;
    y[21] = -1; // −1 / −0.5 = 2 → q = trunc(10.5) = 10
    const qs = new Array(16).fill(0x88);
    qs[5] = 0 | (10 << 4); // low nibble: element 5 (q 0); high nibble: element 21 (q 10)
    expect(block(quantizeQ4_0(y))).toEqual({ d: 0xb800, qs });

    // All zeros: d = 0.0f / −8 = −0.0f in C (fp16 0x8000), every q = trunc(8.5) = 8.
    expect(block(quantizeQ4_0(new Float32Array(32)))).toEqual({ d: 0x8000, qs: new Array(16).fill(0x88) });
  });

  it('round-trips within one step per value (|d|, the clamped top end), ≈ |d|/4 on average', () => {
    const values = syntheticLlamaWeights(config, 3).get('model.layers.0.mlp.gate_proj.weight')!;
    const bytes = quantizeQ4_0(values);
    const back = dequantizeQ4_0(bytes, values.length);
    let meanRatio = 0;
    for (let b = 0; b < values.length / 32; b++) {
      const d = Math.abs(float16BitsToFloat32(new DataView(bytes.buffer).getUint16(b * 18, true)));
      for (let j = 0; j < 32; j++) {
        const error = Math.abs(values[b * 32 + j] - back[b * 32 + j]);
        expect(error).toBeLessThanOrEqual(d * 1.001);
        meanRatio += error / d / values.length;
      }
    }
    expect(meanRatio).toBeGreaterThan(0.15);
    expect(meanRatio).toBeLessThan(0.35);
  });
});

describe('Q8_0 blocks', () => {
  const block = (bytes: Uint8Array) => ({ d: new DataView(bytes.buffer).getUint16(0, true), qs: Array.from(new Int8Array(bytes.buffer, 2, 32)) });

  it('matches hand-computed quantize_row_q8_0_ref bytes', () => {
    // max |x| = 127 → d = 1 (fp16 0x3c00); q = roundf(x), halves away from zero.
    const x = new Float32Array(32);
    x.set([127, -127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49, -0.51, 3.7, -100.2]);
    expect(block(quantizeQ8_0(x))).toEqual({ d: 0x3c00, qs: [127, -127, 1, -1, 2, -2, 3, -3, 0, -1, 4, -100, ...new Array(20).fill(0)] });

    // max |x| = 2.54 → d = 0.02 (fp16 0x251f ≈ 0.019989), id = 1 / 0.02f: 2.54 → 127, −1 → −50.
    const y = new Float32Array(32);
    y[3] = -2.54;
    y[30] = 1;
    const qs = new Array(32).fill(0);
    qs[3] = -127;
    qs[30] = 50;
    expect(block(quantizeQ8_0(y))).toEqual({ d: 0x251f, qs });

    // All zeros: d = 0, id = 0, every q 0.
    expect(block(quantizeQ8_0(new Float32Array(32)))).toEqual({ d: 0, qs: new Array(32).fill(0) });
  });

  it('round-trips within half a step per value plus the fp16 rounding of d', () => {
    const values = syntheticLlamaWeights(config, 3).get('model.layers.0.mlp.gate_proj.weight')!;
    const bytes = quantizeQ8_0(values);
    const back = dequantizeQ8_0(bytes, values.length);
    for (let b = 0; b < values.length / 32; b++) {
      const d = float16BitsToFloat32(new DataView(bytes.buffer).getUint16(b * 34, true));
      for (let j = 0; j < 32; j++) {
        // |x − q·d16| ≤ d/2 + 127·|d − d16|, and |d − d16| ≤ d·2^−11.
        expect(Math.abs(values[b * 32 + j] - back[b * 32 + j])).toBeLessThanOrEqual(d * (0.5 + 127 * 2 ** -11) * 1.001);
      }
    }
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(/multiple of 32/);
  });
});
