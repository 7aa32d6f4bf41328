/** The synthetic test models: tiny, seeded, with the real Llama-3 tokenizer and Kanana's quirks. */
import { join } from 'node:path';
import type { ConvertDtype } from '../converter/convert.ts';
import type { HfLlamaConfig } from '../model/config.ts';
import type { SafetensorsDtype } from '../converter/safetensors.ts';

/**
 * Where `npm run fixtures` writes the checkpoints and test models (git-ignored): fixtures/, or the
 * folder HANMADI_FIXTURES names (to try a generator change beside a fixtures folder other
 * checkouts share; the tests and the local model server then read it too).
 */
export const FIXTURES_DIR = process.env.HANMADI_FIXTURES ?? join(import.meta.dirname, '..', '..', 'fixtures');
export const FIXTURE_MODELS_DIR = join(FIXTURES_DIR, 'models');

/** A synthetic checkpoint: its config, the seed of its weights, their dtype and how many shards. */
export interface CheckpointSpec {
  config: HfLlamaConfig;
  seed: number;
  dtype: SafetensorsDtype;
  shards: number;
  generationConfig: Record<string, unknown>;
  /** Weights as one random block of this many values repeated per tensor (speed benchmarks; syntheticTensorValues). */
  period?: number;
}

const tinyBase: HfLlamaConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2, // GQA
  head_dim: 32, // ≠ 64 / 4, as Kanana's 128 ≠ 1792 / 24
  vocab_size: 128256,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 4096,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  torch_dtype: 'bfloat16',
};

const generationConfig = { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true, temperature: 0.6, top_p: 0.9 };

export const FIXTURES: Record<string, CheckpointSpec> = {
  'tiny-llama': { config: tinyBase, seed: 1, dtype: 'BF16', shards: 1, generationConfig },
  'tiny-llama-yarn': {
    config: {
      ...tinyBase,
      tie_word_embeddings: false,
      torch_dtype: 'float16',
      max_position_embeddings: 256,
      rope_scaling: { type: 'yarn', factor: 4.0, original_max_position_embeddings: 64, beta_fast: 32, beta_slow: 1 },
    },
    seed: 2,
    dtype: 'F16',
    shards: 2,
    generationConfig,
  },
  /**
   * Llama 3.2's RoPE (rope_type llama3 with its factor 32 and low/high 1/4) over a 64-token
   * original window, so head_dim 32 at theta 500000 has all three bands: 2 frequencies kept, 1
   * blended, 13 divided. max_position_embeddings is 16× the original window, as Llama 3.2's
   * 131,072 is of 8,192. Tied and in two bf16 shards, as llama-3.2-Korean-Bllossom-3B.
   */
  'tiny-llama3': {
    config: {
      ...tinyBase,
      max_position_embeddings: 1024,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    },
    seed: 6, // seeds 4 and 11 repeat one token; 6 gives 29 distinct of 32 (tools/fixtures/fixture-quality.test.ts)
    dtype: 'BF16',
    shards: 2,
    generationConfig,
  },
};

/**
 * The long-context patch's test model: tiny-llama's weights (same seed) with a native window of
 * only 64 positions and default RoPE (no rope_scaling), so a chat prompt runs far past it and only
 * a YaRN patch at load (src/model/rope-patch.ts) makes the graph follow the extended config.
 * Kept out of FIXTURES (whose tests convert every dtype): fp32, q4 and q8 are all its tests need.
 */
export const CTX64_FIXTURE = 'tiny-llama-ctx64';
export const CTX64_SPEC: CheckpointSpec = { config: { ...tinyBase, max_position_embeddings: 64 }, seed: 1, dtype: 'BF16', shards: 1, generationConfig };
export const CTX64_DTYPES: ConvertDtype[] = ['fp32', 'q4', 'q8'];

/** Kakao's Kanana-Nano-2.1B configuration (kakaocorp/kanana-nano-2.1b-instruct config.json): head_dim 128 ≠ 1792 / 24. */
export const KANANA_NANO_CONFIG: HfLlamaConfig = {
  model_type: 'llama',
  hidden_size: 1792,
  intermediate_size: 8064,
  num_hidden_layers: 32,
  num_attention_heads: 24,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 128256,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
};

/**
 * Meta's Llama-3.2-3B configuration (meta-llama/Llama-3.2-3B config.json, as quoted in public
 * copies; the gated repo itself was not read): 28 layers, hidden 3072, 24/8 heads of 128, tied,
 * llama3 RoPE (factor 32 over 8,192, low/high 1/4) up to 131,072 positions. The Korean fine-tunes
 * (Bllossom's llama-3.2-Korean-Bllossom-3B) keep this shape: its two bf16 shards total 6.43 GB, 3.21B parameters × 2 bytes.
 */
export const LLAMA32_3B_CONFIG: HfLlamaConfig = {
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  hidden_size: 3072,
  intermediate_size: 8192,
  num_hidden_layers: 28,
  num_attention_heads: 24,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 128256,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
};
