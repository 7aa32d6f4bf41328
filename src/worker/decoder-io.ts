/**
 * What a decoder-with-past ONNX session takes and gives (docs/model-format.md): the inputs it
 * has besides input_ids, its KV cache tensors per layer (names, heads, head size, element type),
 * and whether its attention can update a cache in place. Read from the session's own metadata
 * (plus the graph's op types), so exports we did not write (an onnx-community model added by the
 * user) run through the same loop when they follow the same I/O names.
 */
import type { InferenceSession } from 'onnxruntime-web';
import { AppError } from '../lib/errors.ts';

export type KvElementType = 'float32' | 'float16';

export interface DecoderIo {
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: KvElementType;
  pastKey: string[];
  pastValue: string[];
  presentKey: string[];
  presentValue: string[];
  hasAttentionMask: boolean;
  hasPositionIds: boolean;
  hasNumLogitsToKeep: boolean;
  /**
   * GroupQueryAttention updates a cache in place when its past and present are one buffer (it
   * writes only the new rows and attends over seqlens_k + 1 of them); plain attention concatenates
   * and needs a cache that grows by copying.
   */
  inPlaceKv: boolean;
}

type Metadata = InferenceSession.ValueMetadata;

const tensorShape = (meta: Metadata | undefined): readonly (number | string)[] | null => (meta && meta.isTensor ? meta.shape : null);

export function describeDecoder(session: Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata'>, opTypes: ReadonlySet<string>): DecoderIo {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const pastKey: string[] = [];
  while (inputs.has(`past_key_values.${pastKey.length}.key`)) pastKey.push(`past_key_values.${pastKey.length}.key`);
  const layers = pastKey.length;
  const pastValue = pastKey.map((_, i) => `past_key_values.${i}.value`);
  const presentKey = pastKey.map((_, i) => `present.${i}.key`);
  const presentValue = pastKey.map((_, i) => `present.${i}.value`);
  const missing = [
    ...['input_ids'].filter((n) => !inputs.has(n)),
    ...pastValue.filter((n) => !inputs.has(n)),
    ...['logits', ...presentKey, ...presentValue].filter((n) => !outputs.has(n)),
  ];
  if (layers === 0 || missing.length) {
    throw new AppError('load-failed', `Not a decoder with a KV cache this app can drive (missing: ${missing.join(', ') || 'past_key_values.0.key'}).`);
  }
  const meta = session.inputMetadata.find((m) => m.name === pastKey[0]);
  const shape = tensorShape(meta);
  const [, kvHeads, , headDim] = shape ?? [];
  if (typeof kvHeads !== 'number' || typeof headDim !== 'number') {
    throw new AppError('load-failed', `The KV cache input ${pastKey[0]} has no fixed [batch, heads, sequence, head size] shape.`);
  }
  const type = meta && meta.isTensor ? meta.type : 'float32';
  if (type !== 'float32' && type !== 'float16') throw new AppError('load-failed', `KV cache of type ${type} is not supported.`);
  return {
    layers,
    kvHeads,
    headDim,
    kvType: type,
    pastKey,
    pastValue,
    presentKey,
    presentValue,
    hasAttentionMask: inputs.has('attention_mask'),
    hasPositionIds: inputs.has('position_ids'),
    hasNumLogitsToKeep: inputs.has('num_logits_to_keep'),
    inPlaceKv: opTypes.has('GroupQueryAttention'),
  };
}

/** Bytes one token takes in the cache (keys and values of every layer). */
export const kvBytesPerToken = (io: DecoderIo) => 2 * io.layers * io.kvHeads * io.headDim * (io.kvType === 'float16' ? 2 : 4);
