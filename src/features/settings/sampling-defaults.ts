/**
 * Sampling defaults from a model's generation_config.json (Hugging Face field names). Missing
 * fields fall back to Hugging Face's own defaults; `do_sample: false` means greedy, which the
 * app expresses as temperature 0.
 */
import type { SamplingParams } from '../../worker/protocol.ts';

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

/** Keeps user-entered values inside what the sampler accepts. */
export function clampSampling(params: SamplingParams): SamplingParams {
  const clamp = (v: number, lo: number, hi: number, fallback: number) => (Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback);
  return {
    temperature: clamp(params.temperature, 0, 5, FALLBACK_SAMPLING.temperature),
    topP: clamp(params.topP, 0.01, 1, FALLBACK_SAMPLING.topP),
    topK: Math.round(clamp(params.topK, 0, 1000, FALLBACK_SAMPLING.topK)),
    repetitionPenalty: clamp(params.repetitionPenalty, 0.5, 3, FALLBACK_SAMPLING.repetitionPenalty),
    maxNewTokens: Math.round(clamp(params.maxNewTokens, 1, 32768, FALLBACK_SAMPLING.maxNewTokens)),
  };
}
