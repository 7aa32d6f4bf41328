/** Writes a synthetic Hugging Face checkpoint folder (config, tokenizer, safetensors). */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { llamaTensorShapes, syntheticTensorValues } from '../../src/model/synthetic.ts';
import type { SafetensorsDtype } from '../../src/converter/safetensors.ts';
import { toFloat16 } from '../../src/lib/float16.ts';
import { writeSafetensorsStreaming } from '../fixtures/safetensors-stream.ts';
import type { CheckpointSpec } from '../../src/testing/fixture-specs.ts';

/** The real Llama-3 tokenizer (Kanana's), shipped in an npm package. */
export const LLAMA3_TOKENIZER_DIR = join(import.meta.dirname, '..', '..', 'node_modules', '@lenml', 'tokenizer-llama3', 'models');

function encodeValues(values: Float32Array, dtype: SafetensorsDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (dtype === 'F16') {
    const half = toFloat16(values);
    return new Uint8Array(half.buffer);
  }
  // bf16: round-to-nearest-even on the top 16 bits of the float32.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16;
  return new Uint8Array(out.buffer);
}

export function writeSyntheticCheckpoint(dir: string, spec: CheckpointSpec): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec.config, null, 2));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(spec.generationConfig, null, 2));
  copyFileSync(join(LLAMA3_TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  // Instruct models end a turn with <|eot_id|>: make it the tokenizer's eos, as Kanana's is.
  const tokenizerConfig = JSON.parse(readFileSync(join(LLAMA3_TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, eos_token: '<|eot_id|>' }, null, 2));

  // Streamed tensor by tensor: the kanana-2.1b-shape fixture is 4.2 GB and never held at once.
  const tensors = llamaTensorShapes(spec.config).map((t, index) => ({ name: t.name, shape: t.shape, dtype: spec.dtype, spec: t, index }));
  const produce = (t: (typeof tensors)[number]) => encodeValues(syntheticTensorValues(t.spec, t.index, spec.seed, spec.period), spec.dtype);
  if (spec.shards <= 1) {
    writeSafetensorsStreaming(join(dir, 'model.safetensors'), tensors, (_, i) => produce(tensors[i]));
    return;
  }
  const perShard = Math.ceil(tensors.length / spec.shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < spec.shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(spec.shards).padStart(5, '0')}.safetensors`;
    const part = tensors.slice(s * perShard, (s + 1) * perShard);
    for (const t of part) weightMap[t.name] = file;
    writeSafetensorsStreaming(join(dir, file), part, (_, i) => produce(part[i]));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
}
