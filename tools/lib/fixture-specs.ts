/** The synthetic test models: tiny, seeded, with the real Llama-3 tokenizer and Kanana's quirks. */
import type { ConvertDtype } from '../../src/converter/convert.ts';
import type { HfLlamaConfig } from '../../src/model/config.ts';
import type { CheckpointSpec } from './checkpoint.ts';

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
};

/**
 * The long-context patch's test model: tiny-llama's weights (same seed) with a native window of
 * only 64 positions and default RoPE (no rope_scaling), so a chat prompt runs far past it and only
 * a YaRN patch at load (src/model/rope-patch.ts) makes the graph follow the extended config.
 * Kept out of FIXTURES (whose tests convert every dtype): fp32 and q4 are all its tests need.
 */
export const CTX64_FIXTURE = 'tiny-llama-ctx64';
export const CTX64_SPEC: CheckpointSpec = { config: { ...tinyBase, max_position_embeddings: 64 }, seed: 1, dtype: 'BF16', shards: 1, generationConfig };
export const CTX64_DTYPES: ConvertDtype[] = ['fp32', 'q4'];
