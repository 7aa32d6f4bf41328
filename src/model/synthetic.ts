/**
 * Seeded synthetic Llama weights for fixtures and benchmarks: identical bytes on every run and
 * platform. Scales are chosen so greedy decoding has clear top-1 margins: unit-variance
 * embeddings (the tied head then spreads logits by about √hidden) and modest projections so the
 * residual stream is not swamped.
 */
import { resolveLlamaShape, type HfLlamaConfig } from './config.ts';
import { createRng } from './rng.ts';

export interface SyntheticTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Tensor names and shapes of a Llama checkpoint, in Hugging Face order. */
export function llamaTensorShapes(config: HfLlamaConfig): { name: string; shape: number[]; std: number; mean: number }[] {
  const s = resolveLlamaShape(config);
  const list = [{ name: 'model.embed_tokens.weight', shape: [s.vocabSize, s.hiddenSize], std: 1, mean: 0 }];
  for (let l = 0; l < s.numLayers; l++) {
    const p = `model.layers.${l}.`;
    list.push(
      { name: `${p}input_layernorm.weight`, shape: [s.hiddenSize], std: 0.1, mean: 1 },
      { name: `${p}self_attn.q_proj.weight`, shape: [s.numHeads * s.headDim, s.hiddenSize], std: 0.25, mean: 0 },
      { name: `${p}self_attn.k_proj.weight`, shape: [s.numKvHeads * s.headDim, s.hiddenSize], std: 0.25, mean: 0 },
      { name: `${p}self_attn.v_proj.weight`, shape: [s.numKvHeads * s.headDim, s.hiddenSize], std: 0.25, mean: 0 },
      { name: `${p}self_attn.o_proj.weight`, shape: [s.hiddenSize, s.numHeads * s.headDim], std: 0.15, mean: 0 },
      { name: `${p}post_attention_layernorm.weight`, shape: [s.hiddenSize], std: 0.1, mean: 1 },
      { name: `${p}mlp.gate_proj.weight`, shape: [s.intermediateSize, s.hiddenSize], std: 0.15, mean: 0 },
      { name: `${p}mlp.up_proj.weight`, shape: [s.intermediateSize, s.hiddenSize], std: 0.15, mean: 0 },
      { name: `${p}mlp.down_proj.weight`, shape: [s.hiddenSize, s.intermediateSize], std: 0.15, mean: 0 },
    );
  }
  list.push({ name: 'model.norm.weight', shape: [s.hiddenSize], std: 0.1, mean: 1 });
  if (!s.tieWordEmbeddings) list.push({ name: 'lm_head.weight', shape: [s.vocabSize, s.hiddenSize], std: 1, mean: 0 });
  return list;
}

/** Yields the tensors one at a time (never the whole model at once), seeded per tensor. */
export function* syntheticLlamaTensors(config: HfLlamaConfig, seed: number): Generator<SyntheticTensor> {
  let index = 0;
  for (const { name, shape, std, mean } of llamaTensorShapes(config)) {
    const rng = createRng((seed * 7919 + index++) >>> 0);
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = mean + std * rng.normal();
    yield { name, shape, values };
  }
}
