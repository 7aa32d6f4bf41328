/**
 * RoPE inverse frequencies with Hugging Face transformers' semantics (`modeling_rope_utils.py`):
 * default, linear, llama3 and yarn. Shared by the converter (graph initializers), the worker
 * (context-length patch at load) and the reference forward pass.
 *
 * Precision: HF computes in float32 torch (`base ** (arange(0, dim, 2).float() / dim)`), so every
 * intermediate here is rounded with Math.fround at the same points; results agree with torch to
 * about one float32 ulp (torch's pow may round differently in the last bit).
 */
import { normalizeRopeFields, UnsupportedModelError, type HfLlamaConfig, type RopeScalingConfig } from './config.ts';

export interface RopeParameters {
  invFreq: Float32Array;
  /** Multiplies cos and sin (YaRN's "mscale"); 1 without scaling. */
  attentionFactor: number;
}

/**
 * RoPE as a table: cos or sin(p · inv_freq) · attention factor for p in [0, rows), [rows, dim/2]
 * row-major, in float32 like torch (GroupQueryAttention's and RotaryEmbedding's cos/sin caches).
 */
export function ropeTable(kind: 'cos' | 'sin', rope: RopeParameters, rows: number): Float32Array {
  const half = rope.invFreq.length;
  const out = new Float32Array(rows * half);
  const trig = kind === 'cos' ? Math.cos : Math.sin;
  const scale = Math.fround(rope.attentionFactor);
  for (let p = 0; p < rows; p++) {
    for (let j = 0; j < half; j++) out[p * half + j] = trig(Math.fround(p * rope.invFreq[j])) * scale;
  }
  return out;
}

/** Kanana's published long-context recipe (32K native → 128K). */
export const KANANA_YARN_RECIPE = { type: 'yarn', factor: 4.4, original_max_position_embeddings: 32768, beta_fast: 64, beta_slow: 2 } as const;

function headDimOf(config: HfLlamaConfig): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}

function ropeTypeOf(scaling: RopeScalingConfig | null | undefined): string {
  if (!scaling) return 'default';
  return String(scaling.rope_type ?? scaling.type ?? 'default');
}

/** `base ** (2i / dim)` for i in [0, dim/2), in float32 like torch. */
function positionFrequencies(base: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.pow(base, Math.fround((2 * i) / dim)));
  return out;
}

export function computeDefaultInvFreq(base: number, dim: number): Float32Array {
  const pos = positionFrequencies(base, dim);
  return pos.map((p) => Math.fround(1 / p));
}

/** YaRN's attention scaling: 0.1·mscale·ln(scale) + 1, or 1 for scale ≤ 1. */
export function yarnMscale(scale: number, mscale = 1): number {
  if (scale <= 1) return 1;
  return 0.1 * mscale * Math.log(scale) + 1;
}

/** The dimension index whose wavelength completes `numRotations` turns over the original window. */
export function yarnCorrectionDim(numRotations: number, dim: number, base: number, originalMax: number): number {
  return (dim * Math.log(originalMax / (numRotations * 2 * Math.PI))) / (2 * Math.log(base));
}

export function yarnCorrectionRange(betaFast: number, betaSlow: number, dim: number, base: number, originalMax: number, truncate: boolean): [number, number] {
  let low = yarnCorrectionDim(betaFast, dim, base, originalMax);
  let high = yarnCorrectionDim(betaSlow, dim, base, originalMax);
  if (truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  return [Math.max(low, 0), Math.min(high, dim - 1)];
}

/**
 * The pre-extension window of a scaled config. As in transformers v5 (`standardize_rope_params`),
 * a top-level `original_max_position_embeddings` (Phi-3 style) wins over the one in rope_scaling,
 * and max_position_embeddings is the fallback.
 */
function originalWindowOf(config: HfLlamaConfig, scaling: RopeScalingConfig | null | undefined): number {
  const topLevel = config.original_max_position_embeddings;
  if (typeof topLevel === 'number') return topLevel;
  return scaling?.original_max_position_embeddings ?? config.max_position_embeddings;
}

/** The window a model was trained with: YaRN's original window, else max_position_embeddings. */
export function originalContextWindow(config: HfLlamaConfig): number {
  const normalized = normalizeRopeFields(config);
  return originalWindowOf(normalized, ropeTypeOf(normalized.rope_scaling) === 'yarn' ? normalized.rope_scaling : null);
}

/**
 * Factor and original window of a yarn rope_scaling. An explicit factor wins over
 * max/original (transformers v5; 4.4x–4.5x overwrote it with the ratio, which silently disabled
 * YaRN for recipes like Kanana's that keep max_position_embeddings at the native window).
 */
function yarnFactorAndWindow(config: HfLlamaConfig, scaling: RopeScalingConfig): { factor: number; originalMax: number } {
  const originalMax = originalWindowOf(config, scaling);
  const factor = scaling.factor ?? config.max_position_embeddings / originalMax;
  if (!(factor > 0)) throw new UnsupportedModelError(`rope_scaling.factor must be positive, got ${String(factor)}.`, { unsupported: 'rope-knobs' });
  return { factor, originalMax };
}

export function computeYarnInvFreq(hfConfig: HfLlamaConfig): RopeParameters {
  const config = normalizeRopeFields(hfConfig);
  const scaling = config.rope_scaling;
  if (!scaling || ropeTypeOf(scaling) !== 'yarn') throw new UnsupportedModelError('computeYarnInvFreq needs rope_scaling of type "yarn".');
  const base = config.rope_theta ?? 10000;
  const dim = headDimOf(config);
  const { factor, originalMax } = yarnFactorAndWindow(config, scaling);

  let attentionFactor = scaling.attention_factor;
  if (attentionFactor === undefined || attentionFactor === null) {
    attentionFactor =
      scaling.mscale && scaling.mscale_all_dim ? yarnMscale(factor, scaling.mscale) / yarnMscale(factor, scaling.mscale_all_dim) : yarnMscale(factor);
  }
  const betaFast = scaling.beta_fast || 32;
  const betaSlow = scaling.beta_slow || 1;
  // HF: rope_parameters.get("truncate", True); a JSON null is falsy there too.
  const truncate = scaling.truncate === undefined ? true : Boolean(scaling.truncate);
  const [low, high] = yarnCorrectionRange(betaFast, betaSlow, dim, base, originalMax, truncate);
  const rampMax = low === high ? high + 0.001 : high;

  const pos = positionFrequencies(base, dim);
  // torch multiplies the float32 pos_freqs by the Python float factor cast to float32.
  const factor32 = Math.fround(factor);
  const invFreq = new Float32Array(dim / 2);
  for (let i = 0; i < invFreq.length; i++) {
    const extrapolation = Math.fround(1 / pos[i]);
    const interpolation = Math.fround(1 / Math.fround(factor32 * pos[i]));
    const ramp = Math.min(1, Math.max(0, Math.fround(Math.fround(i - Math.fround(low)) / Math.fround(rampMax - low))));
    const extrapolationFactor = Math.fround(1 - ramp);
    invFreq[i] = Math.fround(Math.fround(interpolation * Math.fround(1 - extrapolationFactor)) + Math.fround(extrapolation * extrapolationFactor));
  }
  return { invFreq, attentionFactor };
}

/** The four llama3 knobs, checked: transformers requires them all; llama.cpp's convert falls back to Meta's 1 / 4 / 8192 (so do we, factor aside). */
function llama3Knobs(scaling: RopeScalingConfig): { factor: number; lowFreqFactor: number; highFreqFactor: number; oldContext: number } {
  const factor = Number(scaling.factor);
  const lowFreqFactor = Number(scaling.low_freq_factor ?? 1);
  const highFreqFactor = Number(scaling.high_freq_factor ?? 4);
  const oldContext = Number(scaling.original_max_position_embeddings ?? 8192);
  if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || !(oldContext > 0)) {
    throw new UnsupportedModelError(
      `Invalid llama3 rope_scaling: needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0 (got factor ${String(scaling.factor)}, low ${String(scaling.low_freq_factor)}, high ${String(scaling.high_freq_factor)}, original ${String(scaling.original_max_position_embeddings)}).`,
      { unsupported: 'rope-knobs' },
    );
  }
  return { factor, lowFreqFactor, highFreqFactor, oldContext };
}

/**
 * Llama 3.1/3.2's frequency scaling (`_compute_llama3_parameters`): wavelengths shorter than
 * original/high_freq_factor are kept, longer than original/low_freq_factor are divided by
 * `factor`, and those between are blended. The frequencies do not depend on the position, so a
 * llama3 model serves every length up to max_position_embeddings from one graph; its
 * `original_max_position_embeddings` is a parameter of this formula, not a window to patch.
 * Each step is rounded to float32 where torch's float32 tensors round (HF's expression order).
 */
export function computeLlama3InvFreq(config: HfLlamaConfig, scaling: RopeScalingConfig): Float32Array {
  const invFreq = computeDefaultInvFreq(config.rope_theta ?? 10000, headDimOf(config));
  const { factor, lowFreqFactor, highFreqFactor, oldContext } = llama3Knobs(scaling);
  const lowFreqWavelen = Math.fround(oldContext / lowFreqFactor);
  const highFreqWavelen = Math.fround(oldContext / highFreqFactor);
  const factor32 = Math.fround(factor);
  return invFreq.map((f) => {
    // torch: `2π / inv_freq` is inv_freq.reciprocal() * 2π, in float32.
    const wavelen = Math.fround(Math.fround(1 / f) * Math.fround(2 * Math.PI));
    if (wavelen < highFreqWavelen) return f;
    const divided = Math.fround(f / factor32);
    if (wavelen > lowFreqWavelen) return divided;
    const smooth = Math.fround(
      Math.fround(Math.fround(Math.fround(1 / wavelen) * Math.fround(oldContext)) - Math.fround(lowFreqFactor)) / Math.fround(highFreqFactor - lowFreqFactor),
    );
    const interpolated = Math.fround(Math.fround(Math.fround(1 - smooth) * f) / factor32);
    return Math.fround(interpolated + Math.fround(smooth * f));
  });
}

/**
 * llama.cpp's form of the same scaling (convert_hf_to_gguf `LlamaModel.generate_extra_tensors`):
 * one divisor per frequency, stored as the `rope_freqs.weight` tensor (theta_i = pos·base^(-2i/d) / factor_i).
 * Computed as convert does, in float64 from the float32 default frequencies.
 */
export function llama3RopeFreqFactors(config: HfLlamaConfig, scaling: RopeScalingConfig): Float32Array {
  const invFreq = computeDefaultInvFreq(config.rope_theta ?? 10000, headDimOf(config));
  const { factor, lowFreqFactor, highFreqFactor, oldContext } = llama3Knobs(scaling);
  return Float32Array.from(invFreq, (f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < oldContext / highFreqFactor) return 1;
    if (wavelen > oldContext / lowFreqFactor) return factor;
    const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return 1 / ((1 - smooth) / factor + smooth);
  });
}

/** RoPE parameters for any rope_scaling Hanmadi supports; other types are refused clearly. */
export function computeRopeParameters(hfConfig: HfLlamaConfig): RopeParameters {
  const config = normalizeRopeFields(hfConfig);
  const scaling = config.rope_scaling;
  const type = ropeTypeOf(scaling);
  // The graph rotates the whole head (rope.inv_freq is [head_dim / 2]); partial rotary is not built.
  const partial = config.partial_rotary_factor ?? scaling?.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    throw new UnsupportedModelError(`partial_rotary_factor ${String(partial)} is not supported (RoPE over the whole head only).`, {
      unsupported: 'partial-rotary',
      value: String(partial),
    });
  }
  const base = config.rope_theta ?? 10000;
  switch (type) {
    case 'default':
      return { invFreq: computeDefaultInvFreq(base, headDimOf(config)), attentionFactor: 1 };
    case 'linear':
      return {
        invFreq: computeDefaultInvFreq(base, headDimOf(config)).map((f) => Math.fround(f / Number(scaling?.factor))),
        attentionFactor: 1,
      };
    case 'llama3':
      return { invFreq: computeLlama3InvFreq(config, scaling as RopeScalingConfig), attentionFactor: 1 };
    case 'yarn':
      return computeYarnInvFreq(config);
    default:
      throw new UnsupportedModelError(`Unsupported rope_scaling type "${type}" (supported: default, linear, llama3, yarn).`, {
        unsupported: 'rope-type',
        value: type,
      });
  }
}

/**
 * Whether a context extension can stack YaRN on this config: default RoPE and YaRN only. A
 * llama3 (or linear) model's frequencies are already scaled for its whole max_position_embeddings
 * (Llama 3.2: 131,072 from an 8,192-token pre-training window), and stops there.
 */
export function extendsWithYarn(config: HfLlamaConfig): boolean {
  const type = ropeTypeOf(normalizeRopeFields(config).rope_scaling);
  return type === 'default' || type === 'yarn';
}

/** The YaRN knobs a context extension takes from a published recipe (factor and window are derived). */
export type YarnRecipe = Pick<RopeScalingConfig, 'beta_fast' | 'beta_slow' | 'mscale' | 'mscale_all_dim' | 'attention_factor' | 'truncate'>;

const hasEntries = (value: object | null | undefined): boolean => !!value && Object.keys(value).length > 0;
/** v5 configs keep RoPE in `rope_parameters`; a non-empty legacy `rope_scaling` would be read first. */
const keepsRopeInV5Parameters = (config: HfLlamaConfig): boolean => hasEntries(config.rope_parameters) && !hasEntries(config.rope_scaling);

/**
 * A config extended to `contextLength` tokens with YaRN (Kanana's betas unless `recipe` says
 * otherwise): factor = contextLength / the native window, original window = the native
 * max_position_embeddings. Returns the config itself (not a copy) when the length fits the native
 * window; never mutates it. A checkpoint that already carries YaRN keeps its original window and
 * knobs and only gets a larger factor; other rope types cannot be stacked with YaRN and are refused.
 * The result keeps the input's format: v4 `rope_scaling` (with `type`), or v5 `rope_parameters`
 * (with `rope_type` and `rope_theta` inside) when that is where the input keeps its RoPE.
 */
export function patchConfigForContext(config: HfLlamaConfig, contextLength: number, recipe: YarnRecipe = KANANA_YARN_RECIPE): HfLlamaConfig {
  if (contextLength <= config.max_position_embeddings) return config;
  const normalized = normalizeRopeFields(config);
  const type = ropeTypeOf(normalized.rope_scaling);
  if (!extendsWithYarn(config)) {
    throw new UnsupportedModelError(`Cannot extend a model with rope_scaling type "${type}" past its ${config.max_position_embeddings} positions.`);
  }
  const existing = type === 'yarn' ? (normalized.rope_scaling as RopeScalingConfig) : null;
  const original = originalContextWindow(config);
  const knobs: Record<string, unknown> = {};
  const { beta_fast, beta_slow, mscale, mscale_all_dim, attention_factor, truncate } = existing ?? recipe;
  // Only the recipe's own keys: an absent key must stay absent (HF's defaults then apply).
  for (const [key, value] of Object.entries({ beta_fast, beta_slow, mscale, mscale_all_dim, attention_factor, truncate })) {
    if (value !== undefined && value !== null) knobs[key] = value;
  }
  const yarn = { factor: Math.max(1, contextLength / original), original_max_position_embeddings: original, ...knobs };
  if (keepsRopeInV5Parameters(config)) {
    const { rope_scaling: _legacy, ...rest } = config; // null or {} here; v5 would read a non-empty one first
    return { ...rest, max_position_embeddings: contextLength, rope_parameters: { rope_type: 'yarn', rope_theta: normalized.rope_theta, ...yarn } };
  }
  return { ...config, max_position_embeddings: contextLength, rope_scaling: { type: 'yarn', ...yarn } };
}
