/**
 * The weights a quantized graph really computes with, for the references tests hold it to: q4
 * weights round-tripped through 4-bit quantization, q8 weights as int8 values and scales (the
 * reference then computes like DynamicQuantizeMatMul). Pure.
 */
import type { LlamaShape } from '../model/config.ts';
import type { Int8Weight } from '../model/dynamic-quantization.ts';
import { dequantizeQ4, dequantizeQ8, quantizeQ4, quantizeQ8 } from './quantize.ts';

const isLinear = (name: string) => name.endsWith('_proj.weight') || name === 'lm_head.weight';

function inFeaturesOf(shape: LlamaShape, name: string): number {
  if (name.endsWith('down_proj.weight')) return shape.intermediateSize;
  if (name.endsWith('o_proj.weight')) return shape.numHeads * shape.headDim;
  return shape.hiddenSize;
}

function embedding(weights: ReadonlyMap<string, Float32Array>): Float32Array {
  const embed = weights.get('model.embed_tokens.weight');
  if (!embed) throw new Error('model.embed_tokens.weight is missing.');
  return embed;
}

/**
 * q4 / q4f16: every linear layer, the head and the embedding table round-tripped through 4-bit
 * quantization, the norms as given. A tied model's head is returned as `lm_head.weight` too (the
 * same array as the table), so a reference built untied computes the same.
 * `floatEmbedding`: the layout graphs had before the table was quantized (it was stored as given,
 * a tied head as a separate q4 copy): the reference must then be built untied.
 */
export function q4EffectiveWeights(
  shape: LlamaShape,
  weights: ReadonlyMap<string, Float32Array>,
  { floatEmbedding = false }: { floatEmbedding?: boolean } = {},
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, w] of weights) {
    const inFeatures = inFeaturesOf(shape, name);
    out.set(name, isLinear(name) ? dequantizeQ4(quantizeQ4(w, w.length / inFeatures, inFeatures)) : w);
  }
  const table = dequantizeQ4(quantizeQ4(embedding(weights), shape.vocabSize, shape.hiddenSize));
  if (!floatEmbedding) out.set('model.embed_tokens.weight', table);
  if (shape.tieWordEmbeddings) out.set('lm_head.weight', table);
  return out;
}

/**
 * q8: `int8` holds every linear layer and the head as the graph's int8 values and scales (by
 * checkpoint name: a tied head is the embedding's), for ReferenceLlama's `int8` option; `weights`
 * holds the embedding as the graph gathers it (the int8 table's rows times their scales) and the
 * norms as given. The reference keeps the model's tying.
 */
export function q8EffectiveWeights(
  shape: LlamaShape,
  weights: ReadonlyMap<string, Float32Array>,
): { weights: Map<string, Float32Array>; int8: Map<string, Int8Weight> } {
  const int8 = new Map<string, Int8Weight>();
  const floats = new Map<string, Float32Array>();
  for (const [name, w] of weights) {
    if (isLinear(name)) {
      const inFeatures = inFeaturesOf(shape, name);
      int8.set(name, quantizeQ8(w, w.length / inFeatures, inFeatures));
    } else floats.set(name, w);
  }
  const table = quantizeQ8(embedding(weights), shape.vocabSize, shape.hiddenSize);
  floats.set('model.embed_tokens.weight', dequantizeQ8(table));
  if (shape.tieWordEmbeddings) int8.set('model.embed_tokens.weight', table);
  return { weights: floats, int8 };
}
