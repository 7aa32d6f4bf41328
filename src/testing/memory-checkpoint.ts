/**
 * A small synthetic Hugging Face checkpoint held in memory (config, stand-in tokenizer files,
 * safetensors in one file or shards with an index), with the fixtures' seeded weights. For
 * converter tests that need no disk and no real tokenizer. Pure (no Node API).
 */
import type { HfLlamaConfig } from '../model/config.ts';
import { syntheticLlamaTensors } from '../model/synthetic.ts';
import { toFloat16 } from '../lib/float16.ts';
import { encodeSafetensors, type TensorToWrite } from '../converter/safetensors.ts';
import { FIXTURES } from './fixture-specs.ts';

/** The tiny-llama fixture's shape with a 300-token vocabulary: converts in milliseconds. */
export const SMALL_LLAMA: HfLlamaConfig = { ...FIXTURES['tiny-llama'].config, vocab_size: 300 };

const encoder = new TextEncoder();

export function syntheticCheckpointFiles(
  config: HfLlamaConfig,
  options: { seed?: number; dtype?: 'F32' | 'F16'; shards?: number } = {},
): Record<string, Uint8Array> {
  const { seed = 1, dtype = 'F16', shards = 1 } = options;
  const tensors: TensorToWrite[] = [...syntheticLlamaTensors(config, seed)].map((t) => {
    const data = dtype === 'F16' ? toFloat16(t.values) : t.values;
    return { name: t.name, dtype, shape: t.shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  });
  const files: Record<string, Uint8Array> = {
    'config.json': encoder.encode(JSON.stringify(config)),
    'tokenizer.json': encoder.encode('{"stand-in":"tokenizer"}'),
    'tokenizer_config.json': encoder.encode('{"eos_token":"</s>"}'),
  };
  if (shards <= 1) {
    files['model.safetensors'] = encodeSafetensors(tensors);
    return files;
  }
  const perShard = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(s * perShard, (s + 1) * perShard);
    for (const t of part) weightMap[t.name] = name;
    files[name] = encodeSafetensors(part);
  }
  files['model.safetensors.index.json'] = encoder.encode(JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return files;
}
