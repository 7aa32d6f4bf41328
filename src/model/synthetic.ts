/**
 * Seeded synthetic Llama weights for fixtures and benchmarks: identical values on every run and
 * platform (see rng.ts), generated tensor by tensor so a 2B-parameter shape never sits in memory
 * at once.
 *
 * Scales (measured by tools/fixtures/fixture-quality.test.ts with the reference forward pass):
 * - embeddings (and an untied head) N(0, 1): with a tied head the logits spread by about √hidden;
 * - norm weights N(1, 0.1): near identity but not exactly, so a missing or misplaced norm shows;
 * - projections N(0, σ) with σ tuned on the tiny fixtures (hidden 64, heads·head_dim 128,
 *   intermediate 128) and rescaled by √(tuned fan-in / fan-in) for other shapes, so activations
 *   keep the same magnitude at Kanana's size (no fp16 overflow, no saturated softmax). For the
 *   tiny shapes the factor is exactly 1 and the values are the tuned ones.
 * Greedy decoding of a chat prompt gives a varied continuation (tiny-llama: 17 distinct of 32,
 * with one run of a repeated token; tiny-llama-yarn: 32 of 32). Known limit: with hidden 64 and
 * 128,256 unstructured random head rows the top-1/top-2 gap is only about σ / √(2 ln vocab) ≈ 0.2σ
 * (σ ≈ √hidden, the logits' spread), the order of the q4 error, so teacher-forced q4 top-1 agreement is ~50%
 * (tied) and ~20% (untied). Fixtures therefore compare q4 graphs with the same q4 graph elsewhere,
 * not with the float reference; sharp margins would need structured (not i.i.d.) weights.
 */
import { resolveLlamaShape, type HfLlamaConfig } from './config.ts';
import { createRng } from './rng.ts';

export interface SyntheticTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface SyntheticTensorSpec {
  name: string;
  shape: number[];
  std: number;
  mean: number;
}

/** σ of a projection tuned at `tunedFanIn` inputs, rescaled to `fanIn` inputs. */
function projectionStd(tunedStd: number, tunedFanIn: number, fanIn: number): number {
  return fanIn === tunedFanIn ? tunedStd : tunedStd * Math.sqrt(tunedFanIn / fanIn);
}

/** Tensor names, shapes and init scales of a Llama checkpoint, in Hugging Face order. */
export function llamaTensorShapes(config: HfLlamaConfig): SyntheticTensorSpec[] {
  const s = resolveLlamaShape(config);
  const attnWidth = s.numHeads * s.headDim;
  const qkvStd = projectionStd(0.25, 64, s.hiddenSize);
  const oStd = projectionStd(0.15, 128, attnWidth);
  const gateUpStd = projectionStd(0.15, 64, s.hiddenSize);
  const downStd = projectionStd(0.15, 128, s.intermediateSize);
  const list: SyntheticTensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocabSize, s.hiddenSize], std: 1, mean: 0 }];
  for (let l = 0; l < s.numLayers; l++) {
    const p = `model.layers.${l}.`;
    list.push(
      { name: `${p}input_layernorm.weight`, shape: [s.hiddenSize], std: 0.1, mean: 1 },
      { name: `${p}self_attn.q_proj.weight`, shape: [attnWidth, s.hiddenSize], std: qkvStd, mean: 0 },
      { name: `${p}self_attn.k_proj.weight`, shape: [s.numKvHeads * s.headDim, s.hiddenSize], std: qkvStd, mean: 0 },
      { name: `${p}self_attn.v_proj.weight`, shape: [s.numKvHeads * s.headDim, s.hiddenSize], std: qkvStd, mean: 0 },
      { name: `${p}self_attn.o_proj.weight`, shape: [s.hiddenSize, attnWidth], std: oStd, mean: 0 },
      { name: `${p}post_attention_layernorm.weight`, shape: [s.hiddenSize], std: 0.1, mean: 1 },
      { name: `${p}mlp.gate_proj.weight`, shape: [s.intermediateSize, s.hiddenSize], std: gateUpStd, mean: 0 },
      { name: `${p}mlp.up_proj.weight`, shape: [s.intermediateSize, s.hiddenSize], std: gateUpStd, mean: 0 },
      { name: `${p}mlp.down_proj.weight`, shape: [s.hiddenSize, s.intermediateSize], std: downStd, mean: 0 },
    );
  }
  list.push({ name: 'model.norm.weight', shape: [s.hiddenSize], std: 0.1, mean: 1 });
  if (!s.tieWordEmbeddings) list.push({ name: 'lm_head.weight', shape: [s.vocabSize, s.hiddenSize], std: 1, mean: 0 });
  return list;
}

/**
 * The values of one tensor of the list; each tensor has its own seed, so any can be made alone.
 * With `period`, one block of that many random values is repeated to fill the tensor: the speed
 * benchmarks' shapes are made in a fraction of the time, and speed does not depend on the values.
 */
export function syntheticTensorValues(spec: SyntheticTensorSpec, index: number, seed: number, period?: number): Float32Array {
  const rng = createRng((seed * 7919 + index) >>> 0);
  const values = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  const random = period === undefined ? values.length : Math.min(period, values.length);
  for (let i = 0; i < random; i++) values[i] = spec.mean + spec.std * rng.normal();
  for (let start = random; start < values.length; start += random) values.copyWithin(start, 0, Math.min(random, values.length - start));
  return values;
}

/** Yields the tensors one at a time (never the whole model at once), seeded per tensor. */
export function* syntheticLlamaTensors(config: HfLlamaConfig, seed: number): Generator<SyntheticTensor> {
  let index = 0;
  for (const spec of llamaTensorShapes(config)) {
    yield { name: spec.name, shape: spec.shape, values: syntheticTensorValues(spec, index++, seed) };
  }
}

/** All tensors in a map, for the reference model in tests (tiny shapes only). */
export function syntheticLlamaWeights(config: HfLlamaConfig, seed: number): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const t of syntheticLlamaTensors(config, seed)) weights.set(t.name, t.values);
  return weights;
}
