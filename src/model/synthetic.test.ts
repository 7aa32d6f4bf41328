import { describe, expect, it } from 'vitest';
import type { HfLlamaConfig } from './config.ts';
import { llamaTensorShapes, syntheticLlamaTensors, syntheticTensorValues } from './synthetic.ts';
import { SMALL_LLAMA } from '../testing/memory-checkpoint.ts';

const tiny: HfLlamaConfig = { ...SMALL_LLAMA, vocab_size: 512 };

function digest(config: HfLlamaConfig, seed: number): string[] {
  // Every value's exact bits, per tensor: any drift in any element changes the string.
  return [...syntheticLlamaTensors(config, seed)].map((t) => `${t.name}:${t.shape.join('x')}:${Array.from(new Uint32Array(t.values.buffer)).join(',')}`);
}

describe('synthetic Llama weights', () => {
  it('are deterministic: two runs give identical bits, another seed does not', () => {
    const first = digest(tiny, 1);
    expect(digest(tiny, 1)).toEqual(first);
    const other = digest(tiny, 2);
    expect(other.length).toBe(first.length);
    for (let i = 0; i < first.length; i++) expect(other[i]).not.toBe(first[i]);
  });

  it('seed each tensor on its own, so one tensor can be regenerated alone', () => {
    const specs = llamaTensorShapes(tiny);
    const all = [...syntheticLlamaTensors(tiny, 5)];
    const index = specs.findIndex((s) => s.name === 'model.layers.1.mlp.up_proj.weight');
    expect(Array.from(syntheticTensorValues(specs[index], index, 5))).toEqual(Array.from(all[index].values));
  });

  it('with a period, repeat one random block (the same values as without one) to the end of the tensor', () => {
    const specs = llamaTensorShapes(tiny);
    const index = specs.findIndex((s) => s.name === 'model.layers.0.mlp.down_proj.weight');
    const whole = syntheticTensorValues(specs[index], index, 3);
    const tiled = syntheticTensorValues(specs[index], index, 3, 100);
    expect(tiled.length).toBe(whole.length);
    expect(whole.length % 100).not.toBe(0); // the last block is cut short
    for (let i = 0; i < tiled.length; i++) if (tiled[i] !== whole[i % 100]) throw new Error(`value ${i} is not the block's ${i % 100}`);
    expect(new Set(tiled.subarray(0, 100)).size).toBe(100);
  });

  it('list Hugging Face names and shapes, with lm_head only when untied', () => {
    const tied = llamaTensorShapes(tiny).map((s) => s.name);
    expect(tied).toHaveLength(1 + 2 * 9 + 1);
    expect(tied).not.toContain('lm_head.weight');
    const untied = llamaTensorShapes({ ...tiny, tie_word_embeddings: false });
    expect(untied.at(-1)).toMatchObject({ name: 'lm_head.weight', shape: [512, 64] });
    const q = untied.find((s) => s.name === 'model.layers.0.self_attn.q_proj.weight')!;
    const k = untied.find((s) => s.name === 'model.layers.0.self_attn.k_proj.weight')!;
    expect([q.shape, k.shape]).toEqual([
      [128, 64],
      [64, 64],
    ]); // head_dim 32 ≠ 64 / 4
  });

  it('have the intended mean and spread, rescaled by fan-in for bigger shapes', () => {
    const stats = (values: Float32Array) => {
      let sum = 0;
      let sq = 0;
      for (const v of values) {
        sum += v;
        sq += v * v;
      }
      const mean = sum / values.length;
      return { mean, std: Math.sqrt(sq / values.length - mean * mean) };
    };
    const tensors = new Map([...syntheticLlamaTensors(tiny, 1)].map((t) => [t.name, t.values]));
    const embed = stats(tensors.get('model.embed_tokens.weight')!);
    expect(embed.mean).toBeCloseTo(0, 1);
    expect(embed.std).toBeCloseTo(1, 1);
    const norm = stats(tensors.get('model.norm.weight')!);
    expect(norm.mean).toBeGreaterThan(0.9);
    expect(norm.mean).toBeLessThan(1.1);
    expect(stats(tensors.get('model.layers.0.self_attn.q_proj.weight')!).std).toBeCloseTo(0.25, 1);

    const wide = llamaTensorShapes({ ...tiny, hidden_size: 1792, head_dim: 128, num_attention_heads: 24, num_key_value_heads: 8, intermediate_size: 8064 });
    const std = (name: string) => wide.find((s) => s.name === name)!.std;
    expect(std('model.layers.0.self_attn.q_proj.weight')).toBeCloseTo(0.25 * Math.sqrt(64 / 1792), 12);
    expect(std('model.layers.0.self_attn.o_proj.weight')).toBeCloseTo(0.15 * Math.sqrt(128 / 3072), 12);
    expect(std('model.layers.0.mlp.down_proj.weight')).toBeCloseTo(0.15 * Math.sqrt(128 / 8064), 12);
  });
});
