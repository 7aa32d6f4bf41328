import { describe, expect, it } from 'vitest';
import { clampSampling, FALLBACK_SAMPLING, samplingFromGenerationConfig } from './sampling-defaults.ts';

describe('samplingFromGenerationConfig', () => {
  it('maps Hugging Face fields and fills the rest', () => {
    expect(samplingFromGenerationConfig({ do_sample: true, temperature: 0.6, top_p: 0.9, eos_token_id: [1, 2] })).toEqual({
      ...FALLBACK_SAMPLING,
      temperature: 0.6,
      topP: 0.9,
    });
    expect(samplingFromGenerationConfig({ top_k: 20, repetition_penalty: 1.1, max_new_tokens: 64 })).toEqual({
      ...FALLBACK_SAMPLING,
      topK: 20,
      repetitionPenalty: 1.1,
      maxNewTokens: 64,
    });
  });

  it('treats do_sample false as greedy (temperature 0)', () => {
    expect(samplingFromGenerationConfig({ do_sample: false, temperature: 0.7 }).temperature).toBe(0);
  });

  it('ignores junk', () => {
    expect(samplingFromGenerationConfig(null)).toEqual(FALLBACK_SAMPLING);
    expect(samplingFromGenerationConfig({ temperature: 'hot', top_p: Number.NaN })).toEqual(FALLBACK_SAMPLING);
  });
});

describe('clampSampling', () => {
  it('keeps values in range and integers where needed', () => {
    expect(clampSampling({ temperature: -1, topP: 2, topK: 7.6, repetitionPenalty: 9, maxNewTokens: 0 })).toEqual({
      temperature: 0,
      topP: 1,
      topK: 8,
      repetitionPenalty: 3,
      maxNewTokens: 1,
    });
    expect(clampSampling({ ...FALLBACK_SAMPLING, temperature: Number.NaN }).temperature).toBe(FALLBACK_SAMPLING.temperature);
  });
});
