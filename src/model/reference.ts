/**
 * The independent reference: a plain TypeScript Llama forward pass (no ONNX), used to check the
 * converter's graphs token for token. Follows Hugging Face's LlamaForCausalLM: RMSNorm, RoPE
 * (rotate_half, incl. YaRN through yarn.ts), grouped-query attention with a KV cache, SwiGLU MLP,
 * tied or untied head. Accumulates in float64; clarity over speed, but no per-element allocation.
 */
import { resolveLlamaShape, type HfLlamaConfig, type LlamaShape } from './config.ts';
import { computeRopeParameters, type RopeParameters } from './yarn.ts';

export type WeightLookup = (name: string) => Float32Array;

export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number, out = new Float32Array(x.length)): Float32Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  const inv = 1 / Math.sqrt(sum / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = Math.fround(x[i] * inv) * weight[i];
  return out;
}

/** Rotates one head vector in place by Hugging Face's rotate_half convention. */
export function applyRope(vector: Float32Array, offset: number, headDim: number, position: number, rope: RopeParameters): void {
  const half = headDim / 2;
  for (let j = 0; j < half; j++) {
    const angle = Math.fround(position * rope.invFreq[j]); // HF: float32 matmul of positions × inv_freq
    const cos = Math.cos(angle) * rope.attentionFactor;
    const sin = Math.sin(angle) * rope.attentionFactor;
    const a = vector[offset + j];
    const b = vector[offset + j + half];
    vector[offset + j] = a * cos - b * sin;
    vector[offset + j + half] = b * cos + a * sin;
  }
}

/** y = W x for a Linear weight W of shape [out, in] (row-major, as Hugging Face stores it). */
function linear(weight: Float32Array, x: Float32Array, out: Float32Array): Float32Array {
  const inFeatures = x.length;
  for (let o = 0; o < out.length; o++) {
    let sum = 0;
    const row = o * inFeatures;
    for (let i = 0; i < inFeatures; i++) sum += weight[row + i] * x[i];
    out[o] = sum;
  }
  return out;
}

interface LayerWeights {
  inputNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  postNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

export class ReferenceLlama {
  readonly shape: LlamaShape;
  readonly rope: RopeParameters;
  private readonly embed: Float32Array;
  private readonly lmHead: Float32Array;
  private readonly finalNorm: Float32Array;
  private readonly layers: LayerWeights[];
  /** keys[layer][position] = [kvHeads × headDim], after RoPE. */
  private keys: Float32Array[][] = [];
  private values: Float32Array[][] = [];

  constructor(config: HfLlamaConfig, weight: WeightLookup) {
    this.shape = resolveLlamaShape(config);
    this.rope = computeRopeParameters(config);
    this.embed = weight('model.embed_tokens.weight');
    this.lmHead = this.shape.tieWordEmbeddings ? this.embed : weight('lm_head.weight');
    this.finalNorm = weight('model.norm.weight');
    this.layers = Array.from({ length: this.shape.numLayers }, (_, i) => {
      const p = `model.layers.${i}.`;
      return {
        inputNorm: weight(`${p}input_layernorm.weight`),
        q: weight(`${p}self_attn.q_proj.weight`),
        k: weight(`${p}self_attn.k_proj.weight`),
        v: weight(`${p}self_attn.v_proj.weight`),
        o: weight(`${p}self_attn.o_proj.weight`),
        postNorm: weight(`${p}post_attention_layernorm.weight`),
        gate: weight(`${p}mlp.gate_proj.weight`),
        up: weight(`${p}mlp.up_proj.weight`),
        down: weight(`${p}mlp.down_proj.weight`),
      };
    });
    this.reset();
  }

  get cachedLength(): number {
    return this.keys[0]?.length ?? 0;
  }

  /** The cached keys (after RoPE) and values of one layer, by position: [kvHeads × headDim] each. */
  cacheOf(layer: number): { keys: readonly Float32Array[]; values: readonly Float32Array[] } {
    return { keys: this.keys[layer], values: this.values[layer] };
  }

  reset(): void {
    this.keys = this.layers.map(() => []);
    this.values = this.layers.map(() => []);
  }

  /** Feeds one token at the next position; returns its logits [vocab]. */
  step(tokenId: number): Float32Array {
    const { hiddenSize: d, numHeads, numKvHeads, headDim, intermediateSize, rmsNormEps, vocabSize } = this.shape;
    if (!(tokenId >= 0 && tokenId < vocabSize)) throw new RangeError(`token id ${tokenId} outside the vocabulary`);
    const position = this.cachedLength;
    const hidden = this.embed.slice(tokenId * d, (tokenId + 1) * d);
    const normed = new Float32Array(d);
    const q = new Float32Array(numHeads * headDim);
    const attn = new Float32Array(numHeads * headDim);
    const projected = new Float32Array(d);
    const gate = new Float32Array(intermediateSize);
    const up = new Float32Array(intermediateSize);
    const groups = numHeads / numKvHeads;
    const scale = 1 / Math.sqrt(headDim);

    this.layers.forEach((layer, l) => {
      rmsNorm(hidden, layer.inputNorm, rmsNormEps, normed);
      linear(layer.q, normed, q);
      const k = linear(layer.k, normed, new Float32Array(numKvHeads * headDim));
      const v = linear(layer.v, normed, new Float32Array(numKvHeads * headDim));
      for (let h = 0; h < numHeads; h++) applyRope(q, h * headDim, headDim, position, this.rope);
      for (let h = 0; h < numKvHeads; h++) applyRope(k, h * headDim, headDim, position, this.rope);
      this.keys[l].push(k);
      this.values[l].push(v);

      const length = position + 1;
      const scores = new Float64Array(length);
      for (let h = 0; h < numHeads; h++) {
        const kvOffset = Math.floor(h / groups) * headDim;
        let max = -Infinity;
        for (let t = 0; t < length; t++) {
          const key = this.keys[l][t];
          let dot = 0;
          for (let j = 0; j < headDim; j++) dot += q[h * headDim + j] * key[kvOffset + j];
          scores[t] = dot * scale;
          if (scores[t] > max) max = scores[t];
        }
        let total = 0;
        for (let t = 0; t < length; t++) total += scores[t] = Math.exp(scores[t] - max);
        for (let j = 0; j < headDim; j++) {
          let sum = 0;
          for (let t = 0; t < length; t++) sum += scores[t] * this.values[l][t][kvOffset + j];
          attn[h * headDim + j] = sum / total;
        }
      }
      linear(layer.o, attn, projected);
      for (let i = 0; i < d; i++) hidden[i] += projected[i];

      rmsNorm(hidden, layer.postNorm, rmsNormEps, normed);
      linear(layer.gate, normed, gate);
      linear(layer.up, normed, up);
      for (let i = 0; i < intermediateSize; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
      linear(layer.down, gate, projected);
      for (let i = 0; i < d; i++) hidden[i] += projected[i];
    });

    rmsNorm(hidden, this.finalNorm, rmsNormEps, normed);
    return linear(this.lmHead, normed, new Float32Array(vocabSize));
  }

  /** Feeds tokens after whatever is cached; returns the logits of the last one. */
  forward(tokenIds: number[]): Float32Array {
    if (tokenIds.length === 0) throw new Error('forward needs at least one token');
    let logits: Float32Array = new Float32Array(0);
    for (const id of tokenIds) logits = this.step(id);
    return logits;
  }

  /** Greedy decoding from a fresh cache; stops after an eos id (included) or maxNewTokens. */
  greedy(promptIds: number[], maxNewTokens: number, eosIds: number[] = []): number[] {
    this.reset();
    let logits = this.forward(promptIds);
    const generated: number[] = [];
    while (generated.length < maxNewTokens) {
      const next = argmax(logits);
      generated.push(next);
      if (eosIds.includes(next) || generated.length === maxNewTokens) break;
      logits = this.step(next);
    }
    return generated;
  }

  /** argmax of the logits after every position of `ids` (teacher forcing), from a fresh cache. */
  teacherForcedArgmax(ids: number[]): number[] {
    this.reset();
    return ids.map((id) => argmax(this.step(id)));
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
