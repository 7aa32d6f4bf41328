/** Reads every tensor of a Hugging Face checkpoint folder (one file or shards) as float32, for the reference model. */
import { directoryReader } from '../converter/node-io.ts';
import { readSafetensorsHeader, readTensorAsFloat32 } from '../converter/safetensors.ts';

export async function readCheckpointWeights(dir: string): Promise<Map<string, Float32Array>> {
  const reader = directoryReader(dir);
  try {
    const index = await reader.readFile('model.safetensors.index.json');
    const shards = index
      ? [...new Set(Object.values(JSON.parse(new TextDecoder().decode(index)).weight_map as Record<string, string>))]
      : ['model.safetensors'];
    const weights = new Map<string, Float32Array>();
    for (const shard of shards) {
      const source = await reader.openFile(shard);
      if (!source) throw new Error(`${dir}: ${shard} missing`);
      for (const [name, info] of await readSafetensorsHeader(source)) weights.set(name, await readTensorAsFloat32(source, info));
    }
    return weights;
  } finally {
    await reader.close?.();
  }
}
