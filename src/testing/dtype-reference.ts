/**
 * The TypeScript reference a graph of each dtype is held to, token for token: the checkpoint's
 * weights for fp32 and fp16 (half precision is compared by agreement); for q4 / q4f16 the weights
 * the 4-bit graph really computes with (the reference runs untied, as the `float` embedding layout
 * keeps the tied head as a separate q4 copy); for q8 its int8 weights, computed as
 * DynamicQuantizeMatMul does.
 */
import { q4EffectiveWeights, q8EffectiveWeights } from '../converter/effective-weights.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import type { EmbeddingLayout, GraphDtype } from '../model/graph-format.ts';
import { ReferenceLlama } from '../model/reference.ts';

const lookup =
  <T>(weights: ReadonlyMap<string, T>) =>
  (name: string): T => {
    const w = weights.get(name);
    if (!w) throw new Error(`tensor ${name} missing`);
    return w;
  };

export function dtypeReference(
  config: HfLlamaConfig,
  weights: ReadonlyMap<string, Float32Array>,
  dtype: GraphDtype,
  { embedding = 'quantized' }: { embedding?: EmbeddingLayout } = {},
): ReferenceLlama {
  const shape = resolveLlamaShape(config);
  if (dtype === 'q8') {
    const q8 = q8EffectiveWeights(shape, weights);
    return new ReferenceLlama(config, lookup(q8.weights), { int8: lookup(q8.int8) });
  }
  if (dtype === 'q4' || dtype === 'q4f16')
    return new ReferenceLlama({ ...config, tie_word_embeddings: false }, lookup(q4EffectiveWeights(shape, weights, { floatEmbedding: embedding === 'float' })));
  return new ReferenceLlama(config, lookup(weights));
}
