import { describe, expect, it } from 'vitest';
import { KANANA_NANO_CONFIG } from '../testing/fixture-specs.ts';
import { eosTokenIds, resolveLlamaShape, UnsupportedModelError, type HfLlamaConfig } from './config.ts';

const kananaNano = KANANA_NANO_CONFIG;

describe('resolveLlamaShape', () => {
  it('keeps an explicit head_dim that is not hidden / heads', () => {
    const shape = resolveLlamaShape(kananaNano);
    expect(shape.headDim).toBe(128);
    expect(1792 / 24).not.toBe(128);
    expect(shape.numKvHeads).toBe(8);
  });

  it('applies Hugging Face defaults', () => {
    const { head_dim: _h, num_key_value_heads: _k, rope_theta: _r, tie_word_embeddings: _t, ...bare } = kananaNano;
    const shape = resolveLlamaShape({ ...bare, hidden_size: 1536 });
    expect(shape).toMatchObject({ headDim: 64, numKvHeads: 24, ropeTheta: 10000, tieWordEmbeddings: true });
    // 1792 / 24 is not an integer: without an explicit head_dim Kanana's shape is refused.
    expect(() => resolveLlamaShape(bare)).toThrow(/head_dim/);
  });

  it('refuses other architectures and inconsistent heads with a clear error', () => {
    expect(() => resolveLlamaShape({ ...kananaNano, model_type: 'qwen2' })).toThrow(UnsupportedModelError);
    expect(() => resolveLlamaShape({ ...kananaNano, model_type: 'qwen2' })).toThrow(/only Llama-architecture/);
    expect(() => resolveLlamaShape({ ...kananaNano, num_key_value_heads: 7 })).toThrow(/multiple of num_key_value_heads/);
  });

  it('says exactly what a refused family has that the Llama graph does not (Qwen2 biases, Qwen3 q/k norms, a Mistral window)', () => {
    const refusal = (config: Record<string, unknown>) => {
      try {
        resolveLlamaShape({ ...kananaNano, ...config } as HfLlamaConfig);
      } catch (error) {
        return (error as UnsupportedModelError).params;
      }
      return null;
    };
    expect(refusal({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] })).toEqual({ unsupported: 'qkv-bias', value: 'qwen2' });
    expect(refusal({ model_type: 'qwen3' })).toEqual({ unsupported: 'qk-norm', value: 'qwen3' });
    expect(refusal({ model_type: 'mistral', sliding_window: 4096 })).toEqual({ unsupported: 'sliding-window', value: 'mistral', window: 4096 });
    expect(refusal({ model_type: 'mistral', sliding_window: null })).toEqual({ unsupported: 'model-type', value: 'mistral' });
    expect(refusal({ model_type: 'gemma2' })).toEqual({ unsupported: 'model-type', value: 'gemma2' });
    expect(refusal({ attention_bias: true })).toEqual({ unsupported: 'attention-bias' });
    expect(refusal({ mlp_bias: true })).toEqual({ unsupported: 'mlp-bias' });
    expect(refusal({ hidden_act: 'gelu' })).toEqual({ unsupported: 'hidden-act', value: 'gelu' });
    expect(refusal({})).toBeNull();
  });

  it('lists eos ids whether the config gives one or many', () => {
    expect(eosTokenIds({ eos_token_id: 128009 })).toEqual([128009]);
    expect(eosTokenIds({ eos_token_id: [128001, 128009] })).toEqual([128001, 128009]);
    expect(eosTokenIds({})).toEqual([]);
  });
});
