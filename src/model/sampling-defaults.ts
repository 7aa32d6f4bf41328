/**
 * Sampling defaults from a model's generation_config.json (Hugging Face field names). Missing
 * fields fall back to Hugging Face's own defaults; `do_sample: false` means greedy, which the
 * app expresses as temperature 0.
 */
import type { SamplingParams } from './generation.ts';

export const FALLBACK_SAMPLING: SamplingParams = { temperature: 1, topP: 1, topK: 50, repetitionPenalty: 1, maxNewTokens: 512 };

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function samplingFromGenerationConfig(config: unknown): SamplingParams {
  const c = (typeof config === 'object' && config !== null ? config : {}) as Record<string, unknown>;
  const greedy = c.do_sample === false;
  return {
    temperature: greedy ? 0 : (finite(c.temperature) ?? FALLBACK_SAMPLING.temperature),
    topP: finite(c.top_p) ?? FALLBACK_SAMPLING.topP,
    topK: finite(c.top_k) ?? FALLBACK_SAMPLING.topK,
    repetitionPenalty: finite(c.repetition_penalty) ?? FALLBACK_SAMPLING.repetitionPenalty,
    maxNewTokens: finite(c.max_new_tokens) ?? FALLBACK_SAMPLING.maxNewTokens,
  };
}

/** What the sampler accepts; the settings panel flags values outside these. */
export const SAMPLING_LIMITS: Record<keyof SamplingParams, { min: number; max: number }> = {
  temperature: { min: 0, max: 5 },
  topP: { min: 0.01, max: 1 },
  topK: { min: 0, max: 1000 },
  repetitionPenalty: { min: 0.5, max: 3 },
  maxNewTokens: { min: 1, max: 32768 },
};

/** Keeps user-entered values inside what the sampler accepts. */
export function clampSampling(params: SamplingParams): SamplingParams {
  const clamp = (key: keyof SamplingParams) => {
    const { min, max } = SAMPLING_LIMITS[key];
    const v = params[key];
    return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : FALLBACK_SAMPLING[key];
  };
  return {
    temperature: clamp('temperature'),
    topP: clamp('topP'),
    topK: Math.round(clamp('topK')),
    repetitionPenalty: clamp('repetitionPenalty'),
    maxNewTokens: Math.round(clamp('maxNewTokens')),
  };
}
