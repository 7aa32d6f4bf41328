/**
 * Hugging Face Llama-family config handling, shared by the converter, the worker, the
 * reference forward pass and the tests. Pure: no DOM, no Node APIs.
 */
import type { CodedError } from '../lib/errors.ts';
import { checkConfigBounds } from './input-bounds.ts';

/** rope_scaling as found in Hugging Face config.json (both `type` and `rope_type` spellings occur). */
export interface RopeScalingConfig {
  type?: string;
  rope_type?: string;
  factor?: number;
  original_max_position_embeddings?: number;
  beta_fast?: number;
  beta_slow?: number;
  attention_factor?: number;
  mscale?: number;
  mscale_all_dim?: number;
  truncate?: boolean;
  [key: string]: unknown;
}

/** The subset of a Hugging Face `config.json` for `model_type: llama` that Hanmadi reads. */
export interface HfLlamaConfig {
  model_type: string;
  architectures?: string[];
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta?: number;
  rope_scaling?: RopeScalingConfig | null;
  /** Hugging Face transformers v5 writes RoPE settings here instead of rope_theta/rope_scaling. */
  rope_parameters?: (RopeScalingConfig & { rope_theta?: number }) | null;
  max_position_embeddings: number;
  tie_word_embeddings?: boolean;
  hidden_act?: string;
  attention_bias?: boolean;
  mlp_bias?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  torch_dtype?: string;
  [key: string]: unknown;
}

/** A config with every default resolved: what the graph builder and the reference use. */
export interface LlamaShape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
}

/**
 * What exactly a checkpoint has that Hanmadi's Llama graph does not (the page translates it:
 * `errors.unsupported.<feature>`). `value` names the offending setting's value where there is one.
 */
export type UnsupportedFeature =
  | 'model-type'
  | 'qkv-bias'
  | 'qk-norm'
  | 'sliding-window'
  | 'architectures'
  | 'torch-dtype'
  | 'width-32'
  | 'attention-bias'
  | 'mlp-bias'
  | 'hidden-act'
  | 'heads'
  | 'head-dim'
  | 'rope-type'
  | 'rope-knobs'
  | 'partial-rotary'
  | 'other';

export interface UnsupportedParams {
  unsupported: UnsupportedFeature;
  value?: string;
  [key: string]: string | number | undefined;
}

export class UnsupportedModelError extends Error implements CodedError {
  readonly errorCode = 'unsupported-architecture';
  readonly params: Record<string, string | number>;

  constructor(message: string, params: UnsupportedParams = { unsupported: 'other' }) {
    super(message);
    this.name = 'UnsupportedModelError';
    this.params = Object.fromEntries(Object.entries(params).filter((entry): entry is [string, string | number] => entry[1] !== undefined));
  }
}

/**
 * Families people ask for most, refused by what actually differs from Llama in their config
 * (not just their name): Qwen2/2.5 add biases to the q, k and v projections; Qwen3 normalizes
 * q and k per head; Mistral with a sliding window attends to a limited span.
 */
function familyDifference(config: HfLlamaConfig): UnsupportedParams {
  const type = String(config.model_type);
  if (type === 'qwen2' || type === 'qwen2_moe') return { unsupported: 'qkv-bias', value: type };
  if (type === 'qwen3' || type === 'qwen3_moe') return { unsupported: 'qk-norm', value: type };
  if (type === 'mistral' && typeof config.sliding_window === 'number') return { unsupported: 'sliding-window', value: type, window: config.sliding_window };
  return { unsupported: 'model-type', value: type };
}

/**
 * Maps transformers v5's `rope_parameters` onto the v4 fields (`rope_theta`, `rope_scaling`) the
 * rest of Hanmadi reads, with v5's precedence (`convert_rope_params_to_dict`): a non-empty legacy
 * `rope_scaling` wins over `rope_parameters`; `rope_theta` inside the dict wins over the top-level
 * one (default 10000). A config without `rope_parameters` is returned unchanged.
 */
export function normalizeRopeFields(config: HfLlamaConfig): HfLlamaConfig {
  const params = config.rope_parameters;
  if (!params || Object.keys(params).length === 0) return config;
  const legacy = config.rope_scaling && Object.keys(config.rope_scaling).length > 0 ? config.rope_scaling : null;
  const { rope_theta, ...scaling } = (legacy ?? params) as RopeScalingConfig & { rope_theta?: number };
  const type = scaling.rope_type ?? scaling.type ?? 'default';
  return { ...config, rope_theta: rope_theta ?? config.rope_theta ?? 10000, rope_scaling: type === 'default' ? null : scaling };
}

/**
 * The dimensions that size a decoder-only transformer (weights, KV cache, largest buffers), from
 * its config.json or, before any download, from the catalog (src/model/device-fit.ts).
 */
export interface ModelSizing {
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tied: boolean;
}

/** Validates a Hugging Face config and resolves Llama defaults (as `LlamaConfig.__init__` does). */
export function resolveLlamaShape(hfConfig: HfLlamaConfig): LlamaShape {
  // Sizes first: everything planned from the shape (graphs, tensors, KV memory) allocates by them.
  checkConfigBounds(hfConfig);
  const config = normalizeRopeFields(hfConfig);
  if (config.model_type !== 'llama') {
    throw new UnsupportedModelError(
      `Unsupported model_type "${String(config.model_type)}": only Llama-architecture checkpoints (model_type "llama") can be converted.`,
      familyDifference(config),
    );
  }
  if (config.hidden_act !== undefined && config.hidden_act !== 'silu') {
    throw new UnsupportedModelError(`Unsupported hidden_act "${config.hidden_act}": only "silu" is supported.`, {
      unsupported: 'hidden-act',
      value: config.hidden_act,
    });
  }
  if (config.attention_bias) throw new UnsupportedModelError('Checkpoints with attention_bias are not supported.', { unsupported: 'attention-bias' });
  if (config.mlp_bias) throw new UnsupportedModelError('Checkpoints with mlp_bias are not supported.', { unsupported: 'mlp-bias' });
  const numHeads = config.num_attention_heads;
  const numKvHeads = config.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new UnsupportedModelError(`num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads}).`, { unsupported: 'heads' });
  }
  const headDim = config.head_dim ?? config.hidden_size / numHeads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new UnsupportedModelError(`head_dim ${headDim} must be an even integer.`, { unsupported: 'head-dim', value: String(headDim) });
  }
  return {
    hiddenSize: config.hidden_size,
    intermediateSize: config.intermediate_size,
    numLayers: config.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: config.vocab_size,
    rmsNormEps: config.rms_norm_eps,
    ropeTheta: config.rope_theta ?? 10000,
    maxPositionEmbeddings: config.max_position_embeddings,
    // Hugging Face's PretrainedConfig defaults tie_word_embeddings to true.
    tieWordEmbeddings: config.tie_word_embeddings ?? true,
  };
}

/** eos_token_id may be a number or a list in Hugging Face configs; always a list here. */
export function eosTokenIds(config: { eos_token_id?: number | number[] | null }): number[] {
  const eos = config.eos_token_id;
  if (eos === undefined || eos === null) return [];
  return Array.isArray(eos) ? eos : [eos];
}
