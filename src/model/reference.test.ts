import { describe, expect, it } from 'vitest';
import type { HfLlamaConfig } from './config.ts';
import { applyRope, argmax, ReferenceLlama, rmsNorm } from './reference.ts';
import { syntheticLlamaTensors } from './synthetic.ts';
import { computeRopeParameters } from './yarn.ts';

const base: HfLlamaConfig = {
  model_type: 'llama',
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 8,
  vocab_size: 50,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 128,
  tie_word_embeddings: false,
};

const randomWeights = (config: HfLlamaConfig, seed: number) =>
  new Map([...syntheticLlamaTensors(config, seed)].map((t): [string, Float32Array] => [t.name, t.values]));

const lookup = (weights: Map<string, Float32Array>) => (name: string) => {
  const w = weights.get(name);
  if (!w) throw new Error(`missing ${name}`);
  return w;
};

describe('building blocks', () => {
  it('RMSNorm matches a hand computation', () => {
    // mean of squares of [3, 4] = 12.5 → x / sqrt(12.5) · w
    const out = rmsNorm(new Float32Array([3, 4]), new Float32Array([1, 2]), 0);
    expect(out[0]).toBeCloseTo(3 / Math.sqrt(12.5), 6);
    expect(out[1]).toBeCloseTo((2 * 4) / Math.sqrt(12.5), 6);
  });

  it('RoPE is the identity at position 0 and rotates (j, j + d/2) pairs by position × inv_freq', () => {
    const rope = computeRopeParameters(base);
    const v = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const at0 = v.slice();
    applyRope(at0, 0, 8, 0, rope);
    expect(Array.from(at0)).toEqual(Array.from(v));
    const at5 = v.slice();
    applyRope(at5, 0, 8, 5, rope);
    for (let j = 0; j < 4; j++) {
      const angle = 5 * rope.invFreq[j];
      expect(at5[j]).toBeCloseTo(v[j] * Math.cos(angle) - v[j + 4] * Math.sin(angle), 5);
      expect(at5[j + 4]).toBeCloseTo(v[j + 4] * Math.cos(angle) + v[j] * Math.sin(angle), 5);
    }
  });
});

describe('ReferenceLlama', () => {
  const weights = randomWeights(base, 7);
  const prompt = [3, 17, 42, 8, 8, 1, 29];

  it('incremental decoding with the KV cache equals recomputation from scratch', () => {
    const model = new ReferenceLlama(base, lookup(weights));
    const cached = model.forward(prompt.slice(0, 4));
    const incremental = model.forward(prompt.slice(4));
    const fresh = new ReferenceLlama(base, lookup(weights));
    const full = fresh.forward(prompt);
    expect(Array.from(incremental)).toEqual(Array.from(full));
    expect(argmax(cached)).toBe(fresh.teacherForcedArgmax(prompt)[3]);
  });

  it('grouped-query attention equals multi-head attention with duplicated KV heads', () => {
    const mha: HfLlamaConfig = { ...base, num_key_value_heads: 4 };
    const duplicated = new Map(weights);
    const rowBlock = base.head_dim! * base.hidden_size; // one head's rows of k_proj / v_proj
    for (let l = 0; l < base.num_hidden_layers; l++) {
      for (const proj of ['k_proj', 'v_proj']) {
        const name = `model.layers.${l}.self_attn.${proj}.weight`;
        const gqa = weights.get(name)!;
        const out = new Float32Array(4 * rowBlock);
        for (let h = 0; h < 4; h++) out.set(gqa.subarray(Math.floor(h / 2) * rowBlock, (Math.floor(h / 2) + 1) * rowBlock), h * rowBlock);
        duplicated.set(name, out);
      }
    }
    const a = new ReferenceLlama(base, lookup(weights)).forward(prompt);
    const b = new ReferenceLlama(mha, lookup(duplicated)).forward(prompt);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
  });

  it('a tied model uses the embedding matrix as its head', () => {
    const tiedWeights = new Map(weights);
    tiedWeights.delete('lm_head.weight');
    const tied = new ReferenceLlama({ ...base, tie_word_embeddings: true }, lookup(tiedWeights)).forward(prompt);
    const untied = new Map(weights).set('lm_head.weight', weights.get('model.embed_tokens.weight')!);
    const explicit = new ReferenceLlama(base, lookup(untied)).forward(prompt);
    expect(Array.from(tied)).toEqual(Array.from(explicit));
  });

  it('YaRN scaling changes the output only through RoPE', () => {
    const yarn: HfLlamaConfig = { ...base, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16 } };
    const plain = new ReferenceLlama(base, lookup(weights)).forward(prompt);
    const scaled = new ReferenceLlama(yarn, lookup(weights)).forward(prompt);
    expect(Array.from(scaled)).not.toEqual(Array.from(plain));
  });

  it('greedy decoding stops at eos and is deterministic', () => {
    const model = new ReferenceLlama(base, lookup(weights));
    const first = model.greedy(prompt, 12);
    expect(first).toHaveLength(12);
    expect(model.greedy(prompt, 12)).toEqual(first);
    const eos = first[3];
    const stopped = model.greedy(prompt, 12, [eos]);
    expect(stopped[stopped.length - 1]).toBe(eos);
    expect(stopped.length).toBe(first.indexOf(eos) + 1);
  });
});
