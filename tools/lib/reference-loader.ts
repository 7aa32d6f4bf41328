/** Loads a Hugging Face checkpoint folder into the TypeScript reference model (tests only). */
import type { HfLlamaConfig } from '../../src/model/config.ts';
import { ReferenceLlama } from '../../src/model/reference.ts';
import { readSafetensorsHeader, readTensorAsFloat32 } from '../../src/converter/safetensors.ts';
import { directoryReader } from './node-io.ts';

export async function loadReferenceModel(checkpointDir: string, config: HfLlamaConfig): Promise<ReferenceLlama> {
  const reader = directoryReader(checkpointDir);
  try {
    const index = await reader.readFile('model.safetensors.index.json');
    const shards = index
      ? [...new Set(Object.values(JSON.parse(new TextDecoder().decode(index)).weight_map as Record<string, string>))]
      : ['model.safetensors'];
    const weights = new Map<string, Float32Array>();
    for (const shard of shards) {
      const source = await reader.openFile(shard);
      if (!source) throw new Error(`${checkpointDir}: ${shard} missing`);
      for (const [name, info] of await readSafetensorsHeader(source)) weights.set(name, await readTensorAsFloat32(source, info));
    }
    return new ReferenceLlama(config, (name) => {
      const w = weights.get(name);
      if (!w) throw new Error(`tensor ${name} missing`);
      return w;
    });
  } finally {
    await reader.close?.();
  }
}
