/**
 * The memory-bandwidth bound of decoding: every decode step reads every weight the step uses and
 * the whole KV cache once, so tokens/s ≤ read bandwidth / bytes per step. Pure; the bench page
 * measures the bandwidth, the Node driver knows the files.
 */
import { kvCacheBytes, KV_ELEMENT_BYTES } from '../model/kv-memory.ts';
import { embeddingTableBytes } from '../model/size-estimate.ts';
import type { LlamaShape } from '../model/config.ts';
import type { ModelDtype } from '../model/catalog.ts';

export interface DecodeBytes {
  /** Weights a decode step reads: the graph's initializers minus the embedding table, plus the one row it gathers. */
  weights: number;
  /** The KV cache at `contextTokens` (read once by attention). */
  kv: number;
  total: number;
}

/**
 * `graphBytes` = the .onnx file plus its external data (every initializer). Every weight but the
 * embedding table (the layers, the head) is read in full by a decode step; the table is only
 * gathered from (one row per token), unless it is the head too: a tied head multiplies with the
 * quantized table itself (q4, q4f16, q8), while fp32/fp16 keep a separate copy for it.
 */
export function decodeStepBytes(
  shape: Pick<LlamaShape, 'vocabSize' | 'hiddenSize' | 'numLayers' | 'numKvHeads' | 'headDim' | 'tieWordEmbeddings'>,
  dtype: ModelDtype,
  graphBytes: number,
  contextTokens: number,
): DecodeBytes {
  const table = embeddingTableBytes(shape, dtype);
  if (graphBytes < table) throw new Error(`The graph (${graphBytes} bytes) is smaller than its embedding table (${table} bytes).`);
  const tableIsHead = shape.tieWordEmbeddings && dtype !== 'fp32' && dtype !== 'fp16';
  const weights = tableIsHead ? graphBytes : graphBytes - table + table / shape.vocabSize;
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
