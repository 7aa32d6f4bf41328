/**
 * The bytes of external data a converted graph stores, in closed form from the config shape, so
 * the app can show "download X, store Y" before fetching anything. Written out from the weights
 * src/converter/llama-graph.ts makes (checked against the converter's real output in src/converter/size-estimate.test.ts):
 * - RMSNorm weights [d]: in the activation type, float32 or float16 (2 per layer and the final norm);
 * - every Linear [out, in] (q, k, v, o, gate, up, down and the head): fp32/fp16 store it
 *   transposed at 4/2 bytes an element; q4/q4f16 store MatMulNBits parts: packed nibbles
 *   (16 bytes a 32-wide block) and one scale a block (float32 in q4, float16 in q4f16), no zero
 *   points (symmetric);
 * - embedding table [V, d]: fp32/fp16 store it as floats, and a tied head as a second
 *   (transposed) copy; q4/q4f16 store it as a 4-bit Linear [V, d], which a tied head shares;
 * - q8 instead: DynamicQuantizeMatMul weights, int8 [in, out] plus a float32 scale per output
 *   (q|k|v and gate|up fused: the same bytes as apart), and the table int8 [d, V] with a scale per
 *   token, which a tied head shares (an untied head is a second such table).
 * Pure.
 */
import type { LlamaShape } from './config.ts';
import type { GraphDtype } from './graph-format.ts';

/**
 * The embedding table's bytes: float32 / float16 in fp32 / fp16; a 4-bit Linear in q4 / q4f16
 * (16 bytes of nibbles and a float32 / float16 scale per 32 values); int8 with a float32 scale per
 * token in q8.
 */
export function embeddingTableBytes(shape: Pick<LlamaShape, 'vocabSize' | 'hiddenSize'>, dtype: GraphDtype): number {
  const cells = shape.vocabSize * shape.hiddenSize;
  switch (dtype) {
    case 'fp32':
      return cells * 4;
    case 'fp16':
      return cells * 2;
    case 'q4':
      return (cells / 32) * (16 + 4);
    case 'q4f16':
      return (cells / 32) * (16 + 2);
    case 'q8':
      return cells + shape.vocabSize * 4;
  }
}

export function storedExternalDataBytes(shape: LlamaShape, dtype: GraphDtype): number {
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: HD, intermediateSize: I, numLayers: L, vocabSize: V } = shape;
  if (dtype === 'q8') return storedQ8Bytes(shape);
  const half = dtype === 'fp16' || dtype === 'q4f16';
  const quantized = dtype === 'q4' || dtype === 'q4f16';
  const floatBytes = half ? 2 : 4;
  const linear = (out: number, inFeatures: number): number => {
    if (!quantized) return out * inFeatures * floatBytes;
    const blocksPerRow = inFeatures / 32;
    return out * blocksPerRow * 16 + out * blocksPerRow * floatBytes;
  };
  const norm = d * floatBytes;
  const layer = 2 * norm + linear(H * HD, d) + 2 * linear(KV * HD, d) + linear(d, H * HD) + 2 * linear(I, d) + linear(d, I);
  const head = quantized && shape.tieWordEmbeddings ? 0 : linear(V, d);
  return embeddingTableBytes(shape, dtype) + L * layer + norm + head;
}

function storedQ8Bytes(shape: LlamaShape): number {
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: HD, intermediateSize: I, numLayers: L, vocabSize: V } = shape;
  const linear = (out: number, inFeatures: number) => out * inFeatures + out * 4;
  const norm = d * 4;
  const layer = 2 * norm + linear((H + 2 * KV) * HD, d) + linear(d, H * HD) + linear(2 * I, d) + linear(d, I);
  return embeddingTableBytes(shape, 'q8') + (shape.tieWordEmbeddings ? 0 : linear(V, d)) + L * layer + norm;
}
