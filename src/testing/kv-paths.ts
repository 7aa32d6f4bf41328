/**
 * Shared by the KV-cache path tests in onnxruntime-node (llama-graph.node.test.ts) and in Chromium
 * (e2e/attention-backends.spec.ts): a tiny untied YaRN model, the token chunks that exercise every
 * way transformers.js runs the graph (a prefill, single-token decode steps, a multi-token chunk
 * after a cached prefix as in KV reuse across chat turns), the graph bytes per dtype and attention
 * form, and the reference's logits at every position.
 */
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { argmax, ReferenceLlama } from '../model/reference.ts';
import { syntheticLlamaTensors } from '../model/synthetic.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { buildLlamaGraph } from '../converter/llama-graph.ts';
import { dtypeReference } from './dtype-reference.ts';
import { type AttentionKind, type GraphDtype } from '../model/graph-format.ts';
import { encodeModel, type Graph } from '../converter/onnx-proto.ts';
import { GRAPH_OPSETS } from '../converter/convert.ts';
import { SMALL_LLAMA } from './memory-checkpoint.ts';

/** GQA (4 heads over 2 KV heads), head_dim 32 ≠ 64 / 4, YaRN over a 16-token original window. */
export const KV_CONFIG: HfLlamaConfig = {
  ...SMALL_LLAMA,
  tie_word_embeddings: false,
  rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1 },
};
export const KV_SHAPE = resolveLlamaShape(KV_CONFIG);

/**
 * Chunk lengths: a 40-token prefill, three single-token steps, a 16-token chunk after the cached
 * 43, one step, a 36-token chunk after the cached 60, two steps (98 tokens). Both sides of 32
 * on purpose: onnxruntime-web's WebGPU GroupQueryAttention runs chunks shorter than 32 tokens
 * through its split-reduce decode kernels and longer ones through its FlashAttention prefill kernel.
 */
const CHUNK_LENGTHS = [40, 1, 1, 1, 16, 1, 36, 1, 1];
export const KV_IDS = Array.from({ length: CHUNK_LENGTHS.reduce((a, b) => a + b) }, (_, i) => (i * 53 + 7) % KV_CONFIG.vocab_size);
export const KV_CHUNKS: number[][] = CHUNK_LENGTHS.map((length, i) => {
  const start = CHUNK_LENGTHS.slice(0, i).reduce((a, b) => a + b, 0);
  return KV_IDS.slice(start, start + length);
});

export const kvWeights = (seed = 11) => new Map([...syntheticLlamaTensors(KV_CONFIG, seed)].map((t): [string, Float32Array] => [t.name, t.values]));

const lookup = (weights: Map<string, Float32Array>) => (name: string) => {
  const w = weights.get(name);
  if (!w) throw new Error(`tensor ${name} missing`);
  return w;
};

/** The graph with its weights inline. */
export async function kvGraph(weights: Map<string, Float32Array>, dtype: GraphDtype, attention?: AttentionKind): Promise<Graph> {
  return buildLlamaGraph(
    KV_SHAPE,
    computeRopeParameters(KV_CONFIG),
    dtype,
    async (name) => lookup(weights)(name),
    async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
    { attention },
  );
}

export const encodeGraph = (graph: Graph) => encodeModel({ graph, opsets: GRAPH_OPSETS });

/**
 * The reference the dtype's graph is held to: full-precision weights for fp32/fp16, the weights a
 * 4-bit graph really computes with for q4/q4f16, and for q8 its int8 weights computed as
 * DynamicQuantizeMatMul does. Returns it fresh (empty cache).
 */
export function kvReference(weights: Map<string, Float32Array>, dtype: GraphDtype): ReferenceLlama {
  return dtypeReference(KV_CONFIG, weights, dtype);
}

export interface KvComparison {
  /** Largest |graph logit − reference logit| over every position. */
  worst: number;
  /** Positions whose top-1 token equals the reference's. */
  agree: number;
  /** Positions whose top-1 token differs. */
  mismatches: number[];
}

/**
 * Compares the graph's logits at every position of KV_IDS with `reference` run on the same chunks,
 * every position kept (what matters for q8, whose activation scales span a chunk).
 */
export function compareWithReference(logits: ArrayLike<number>[], reference: ReferenceLlama): KvComparison {
  reference.reset();
  const expectedLogits = KV_CHUNKS.flatMap((chunk) => reference.run(chunk, 0));
  let worst = 0;
  const mismatches: number[] = [];
  expectedLogits.forEach((expected, t) => {
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(logits[t][i] - expected[i]));
    if (argmax(logits[t]) !== argmax(expected)) mismatches.push(t);
  });
  return { worst, agree: KV_IDS.length - mismatches.length, mismatches };
}
