/**
 * The memory-bandwidth bound of decoding: every decode step reads every weight the step uses and
 * the whole KV cache once, so tokens/s ≤ read bandwidth / bytes per step. Pure; the bench page
 * measures the bandwidth, the Node driver knows the files.
 */
import { kvCacheBytes, KV_ELEMENT_BYTES } from '../model/kv-memory.ts';
import type { LlamaShape } from '../model/config.ts';
import type { ModelDtype } from '../model/catalog.ts';

/** Bytes of one embedding-table element per graph dtype (docs/model-format.md: q4 keeps a float32 table, q4f16 a float16 one). */
const EMBEDDING_ELEMENT_BYTES: Record<ModelDtype, number> = { fp32: 4, q4: 4, fp16: 2, q4f16: 2, q8: 1 };

export interface DecodeBytes {
  /** Weights a decode step reads: the graph's initializers minus the embedding table, plus the one row it gathers. */
  weights: number;
  /** The KV cache at `contextTokens` (read once by attention). */
  kv: number;
  total: number;
}

/**
 * `graphBytes` = the .onnx file plus its external data (every initializer). The embedding table is
 * only gathered from (one row per token); every other weight (the layers, the head — a separate
 * copy when tied) is read in full by a decode step.
 */
export function decodeStepBytes(
  shape: Pick<LlamaShape, 'vocabSize' | 'hiddenSize' | 'numLayers' | 'numKvHeads' | 'headDim'>,
  dtype: ModelDtype,
  graphBytes: number,
  contextTokens: number,
): DecodeBytes {
  const element = EMBEDDING_ELEMENT_BYTES[dtype];
  const table = shape.vocabSize * shape.hiddenSize * element;
  if (graphBytes < table) throw new Error(`The graph (${graphBytes} bytes) is smaller than its embedding table (${table} bytes).`);
  const weights = graphBytes - table + shape.hiddenSize * element;
  const kv = kvCacheBytes(shape, KV_ELEMENT_BYTES[dtype], contextTokens);
  return { weights, kv, total: weights + kv };
}

export interface Roofline {
  bytesPerStep: number;
  /** bandwidth / bytes per step. */
  boundTokensPerSecond: number;
  /** measured / bound (0..1 when the bandwidth figure is right). */
  fractionOfBound: number;
}

export function roofline(bandwidthBytesPerSecond: number, bytesPerStep: number, measuredTokensPerSecond: number): Roofline {
  const boundTokensPerSecond = bandwidthBytesPerSecond / bytesPerStep;
  return { bytesPerStep, boundTokensPerSecond, fractionOfBound: measuredTokensPerSecond / boundTokensPerSecond };
}
