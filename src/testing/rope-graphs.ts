/**
 * Shared by the RoPE patch tests (rope-patch.test.ts, rope-patch.node.test.ts): a tiny config with
 * a 64-token window, its 512-token YaRN extension, and small graphs holding cos/sin caches in the
 * onnxruntime-genai layout, filled straight from the definition (not by the code under test).
 */
import { DataType, encodeModel, type Graph, type Tensor } from '../converter/onnx-proto.ts';
import { toFloat16 } from '../lib/float16.ts';
import type { HfLlamaConfig } from '../model/config.ts';
import { patchConfigForContext } from '../model/yarn.ts';
import { SMALL_LLAMA } from './memory-checkpoint.ts';

export const config: HfLlamaConfig = { ...SMALL_LLAMA, num_hidden_layers: 1, max_position_embeddings: 64 };
export const extended = patchConfigForContext(config, 512); // YaRN factor 8 over the 64 window
export const opsets = [
  { domain: '', version: 17 },
  { domain: 'com.microsoft', version: 1 },
];

const floats = (values: Float32Array | number[]) => new Uint8Array(Float32Array.from(values).buffer);
const halves = (values: number[]) => new Uint8Array(toFloat16(Float32Array.from(values)).buffer);

/** cos/sin(p · inv_freq) · attention factor, straight from the definition. */
export function directCache(kind: 'cos' | 'sin', rope: { invFreq: Float32Array; attentionFactor: number }, rows: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < rows; p++) for (const f of rope.invFreq) out.push((kind === 'cos' ? Math.cos : Math.sin)(p * f) * rope.attentionFactor);
  return out;
}

/** A graph that gathers cos/sin cache rows by position (what GroupQueryAttention's do_rotary reads). */
export function cacheGraph(cos: Tensor, sin: Tensor, extra: Tensor[] = []): Uint8Array {
  const graph: Graph = {
    name: 'rope-cache',
    nodes: [
      { opType: 'Gather', inputs: ['cos_cache', 'position_ids'], outputs: ['cos'] },
      { opType: 'Gather', inputs: ['sin_cache', 'position_ids'], outputs: ['sin'] },
    ],
    inputs: [{ name: 'position_ids', elemType: DataType.INT64, shape: ['n'] }],
    outputs: [
      { name: 'cos', elemType: cos.dataType, shape: ['n', 16] },
      { name: 'sin', elemType: sin.dataType, shape: ['n', 16] },
    ],
    initializers: [...extra, cos, sin],
  };
  return encodeModel({ graph, opsets });
}

export function cacheTensors(rope: { invFreq: Float32Array; attentionFactor: number }, rows: number, half: boolean): [Tensor, Tensor] {
  return (['cos', 'sin'] as const).map((kind): Tensor => {
    const values = directCache(kind, rope, rows);
    return half
      ? { name: `${kind}_cache`, dataType: DataType.FLOAT16, dims: [rows, 16], data: halves(values) }
      : { name: `${kind}_cache`, dataType: DataType.FLOAT, dims: [rows, 16], data: floats(values) };
  }) as [Tensor, Tensor];
}
