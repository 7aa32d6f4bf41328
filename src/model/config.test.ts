import { describe, expect, it } from 'vitest';
import { eosTokenIds, resolveLlamaShape, UnsupportedModelError, type HfLlamaConfig } from './config.ts';

const kananaNano: HfLlamaConfig = {
  model_type: 'llama', hidden_size: 1792, intermediate_size: 8064, num_hidden_layers: 32,
  num_attention_heads: 24, num_key_value_heads: 8, head_dim: 128, vocab_size: 128256,
  rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 32768, tie_word_embeddings: true,
};

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

  it('lists eos ids whether the config gives one or many', () => {
    expect(eosTokenIds({ eos_token_id: 128009 })).toEqual([128009]);
    expect(eosTokenIds({ eos_token_id: [128001, 128009] })).toEqual([128001, 128009]);
    expect(eosTokenIds({})).toEqual([]);
  });
});
