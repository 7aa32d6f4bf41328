/**
 * The independent reference: a plain TypeScript Llama forward pass (no ONNX), used to check the
 * converter's graphs token for token. Follows Hugging Face's LlamaForCausalLM: RMSNorm, RoPE
 * (rotate_half, incl. YaRN through yarn.ts), grouped-query attention with a KV cache, SwiGLU MLP,
 * tied or untied head. Accumulates in float64; clarity over speed, but no per-element allocation.
 *
 * It runs a sequence the way a graph is run: in chunks (`run`: a prompt at once, then one token
 * per step). With float weights every position is computed alone, so chunking changes nothing.
 * With `int8` weights every Linear layer computes as the q8 graph's DynamicQuantizeMatMul does
 * (dynamic-quantization.ts), which quantizes a whole run's activations with one scale, so there
 * the chunks must be the graph's.
 */
import { resolveLlamaShape, type HfLlamaConfig, type LlamaShape } from './config.ts';
import { dynamicQuantizedLinear, type Int8Weight } from './dynamic-quantization.ts';
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
function floatLinear(weight: Float32Array, x: Float32Array, out: Float32Array): Float32Array {
  const inFeatures = x.length;
  for (let o = 0; o < out.length; o++) {
    let sum = 0;
    const row = o * inFeatures;
    for (let i = 0; i < inFeatures; i++) sum += weight[row + i] * x[i];
    out[o] = sum;
  }
  return out;
}

/** A Linear weight: float [out, in], or int8 (computed as DynamicQuantizeMatMul). */
type Linear = Float32Array | Int8Weight;

/** y = W x for every row x of one run. */
function linear(weight: Linear, rows: readonly Float32Array[], outFeatures: number): Float32Array[] {
  if (weight instanceof Float32Array) return rows.map((x) => floatLinear(weight, x, new Float32Array(outFeatures)));
  return dynamicQuantizedLinear(weight, rows);
}

interface LayerWeights {
  inputNorm: Float32Array;
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  postNorm: Float32Array;
  gate: Linear;
  up: Linear;
  down: Linear;
}

export interface ReferenceOptions {
  /**
   * The int8 form of every Linear weight, by checkpoint name (a tied head by the embedding's,
   * `model.embed_tokens.weight`): given, the projections and the head compute as a q8 graph's
   * DynamicQuantizeMatMul does. The embedding rows still come from the WeightLookup (pass the
   * table's dequantized values for a q8 graph).
   */
  int8?: (name: string) => Int8Weight;
}

export class ReferenceLlama {
  readonly shape: LlamaShape;
  readonly rope: RopeParameters;
  private readonly embed: Float32Array;
  private readonly lmHead: Linear;
  private readonly finalNorm: Float32Array;
  private readonly layers: LayerWeights[];
  /** keys[layer][position] = [kvHeads × headDim], after RoPE. */
  private keys: Float32Array[][] = [];
  private values: Float32Array[][] = [];

  constructor(config: HfLlamaConfig, weight: WeightLookup, options: ReferenceOptions = {}) {
    this.shape = resolveLlamaShape(config);
    this.rope = computeRopeParameters(config);
    const linearWeight = options.int8 ?? weight;
    this.embed = weight('model.embed_tokens.weight');
    this.lmHead = linearWeight(this.shape.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
    this.finalNorm = weight('model.norm.weight');
    this.layers = Array.from({ length: this.shape.numLayers }, (_, i) => {
      const p = `model.layers.${i}.`;
      return {
        inputNorm: weight(`${p}input_layernorm.weight`),
        q: linearWeight(`${p}self_attn.q_proj.weight`),
        k: linearWeight(`${p}self_attn.k_proj.weight`),
        v: linearWeight(`${p}self_attn.v_proj.weight`),
        o: linearWeight(`${p}self_attn.o_proj.weight`),
        postNorm: weight(`${p}post_attention_layernorm.weight`),
        gate: linearWeight(`${p}mlp.gate_proj.weight`),
        up: linearWeight(`${p}mlp.up_proj.weight`),
        down: linearWeight(`${p}mlp.down_proj.weight`),
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

  /**
   * Feeds `tokenIds` as one run after whatever is cached (a graph run with num_logits_to_keep =
   * `keep`); returns the logits of the last `keep` positions, or of every position when `keep` is 0.
   */
  run(tokenIds: readonly number[], keep = 1): Float32Array[] {
    const { hiddenSize: d, numHeads, numKvHeads, headDim, intermediateSize, rmsNormEps, vocabSize } = this.shape;
    if (tokenIds.length === 0) throw new Error('run needs at least one token');
    for (const id of tokenIds) if (!(id >= 0 && id < vocabSize)) throw new RangeError(`token id ${id} outside the vocabulary`);
    const start = this.cachedLength;
    const hidden = tokenIds.map((id) => this.embed.slice(id * d, (id + 1) * d));
    const groups = numHeads / numKvHeads;
    const scale = 1 / Math.sqrt(headDim);

    this.layers.forEach((layer, l) => {
      const normed = hidden.map((x) => rmsNorm(x, layer.inputNorm, rmsNormEps));
      const q = linear(layer.q, normed, numHeads * headDim);
      const k = linear(layer.k, normed, numKvHeads * headDim);
      const v = linear(layer.v, normed, numKvHeads * headDim);
      tokenIds.forEach((_, t) => {
        for (let h = 0; h < numHeads; h++) applyRope(q[t], h * headDim, headDim, start + t, this.rope);
        for (let h = 0; h < numKvHeads; h++) applyRope(k[t], h * headDim, headDim, start + t, this.rope);
        this.keys[l].push(k[t]);
        this.values[l].push(v[t]);
      });
      const attended = q.map((query, t) => this.attend(l, query, start + t + 1, groups, scale));
      const projected = linear(layer.o, attended, d);
      hidden.forEach((x, t) => {
        for (let i = 0; i < d; i++) x[i] += projected[t][i];
      });

      const normed2 = hidden.map((x) => rmsNorm(x, layer.postNorm, rmsNormEps));
      const gate = linear(layer.gate, normed2, intermediateSize);
      const up = linear(layer.up, normed2, intermediateSize);
      gate.forEach((g, t) => {
        for (let i = 0; i < intermediateSize; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * up[t][i];
      });
      const down = linear(layer.down, gate, d);
      hidden.forEach((x, t) => {
        for (let i = 0; i < d; i++) x[i] += down[t][i];
      });
    });

    const kept = keep === 0 ? hidden : hidden.slice(-keep);
    return linear(
      this.lmHead,
      kept.map((x) => rmsNorm(x, this.finalNorm, rmsNormEps)),
      vocabSize,
    );
  }

  /** One head-grouped attention of `query` ([heads × headDim]) over the first `length` cached positions. */
  private attend(layer: number, query: Float32Array, length: number, groups: number, scale: number): Float32Array {
    const { numHeads, headDim } = this.shape;
    const keys = this.keys[layer];
    const values = this.values[layer];
    const out = new Float32Array(numHeads * headDim);
    const scores = new Float64Array(length);
    for (let h = 0; h < numHeads; h++) {
      const kvOffset = Math.floor(h / groups) * headDim;
      let max = -Infinity;
      for (let t = 0; t < length; t++) {
        let dot = 0;
        for (let j = 0; j < headDim; j++) dot += query[h * headDim + j] * keys[t][kvOffset + j];
        scores[t] = dot * scale;
        if (scores[t] > max) max = scores[t];
      }
      let total = 0;
      for (let t = 0; t < length; t++) total += scores[t] = Math.exp(scores[t] - max);
      for (let j = 0; j < headDim; j++) {
        let sum = 0;
        for (let t = 0; t < length; t++) sum += scores[t] * values[t][kvOffset + j];
        out[h * headDim + j] = sum / total;
      }
    }
    return out;
  }

  /** Feeds one token at the next position; returns its logits [vocab]. */
  step(tokenId: number): Float32Array {
    return this.run([tokenId])[0];
  }

  /** Feeds tokens after whatever is cached, as one run; returns the logits of the last one. */
  forward(tokenIds: number[]): Float32Array {
    if (tokenIds.length === 0) throw new Error('forward needs at least one token');
    return this.run(tokenIds)[0];
  }

  /** Greedy decoding from a fresh cache, as generate runs it: the prompt at once, then a token per step; stops after an eos id (included) or maxNewTokens. */
  greedy(promptIds: number[], maxNewTokens: number, eosIds: number[] = []): number[] {
    this.reset();
    return this.greedyAfterCache(promptIds, maxNewTokens, eosIds);
  }

  /**
   * Greedy decoding of `newIds` fed as one run after what is cached (as a chat's next turn runs
   * on a reused KV cache), then a token per step. q8's numbers depend on how tokens are split
   * into runs (activations are quantized per run), so a reuse is only matched this way.
   */
  greedyAfterCache(newIds: number[], maxNewTokens: number, eosIds: number[] = []): number[] {
    let logits = this.forward(newIds);
    const generated: number[] = [];
    while (generated.length < maxNewTokens) {
      const next = argmax(logits);
      generated.push(next);
      if (eosIds.includes(next) || generated.length === maxNewTokens) break;
      logits = this.step(next);
    }
    return generated;
  }

  /** argmax of the logits after every position of `ids` (teacher forcing: one run, every position kept), from a fresh cache. */
  teacherForcedArgmax(ids: number[]): number[] {
    this.reset();
    return this.run(ids, 0).map(argmax);
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
