/**
 * What a conversion reads of a safetensors checkpoint served by the mock Hub: each tensor's byte
 * range in its file, in the order the converter converts them, and the Range reads of tensor
 * bytes in a request log. Shared by the Node conversion tests and the in-browser e2e.
 */
import { DEFAULT_EXTERNAL_CHUNK_BYTES, planConversion, type ConvertDtype } from '../converter/convert.ts';
import { HEADER_PREFIX_BYTES, readSafetensorsHeader } from '../converter/safetensors.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { directoryReader } from '../converter/node-io.ts';
import type { HubRequest } from './mock-hub.ts';

export interface TensorRange {
  file: string;
  begin: number;
  end: number;
}

/** Tensors by name with their byte range in their file (single or sharded), and the conversion's plan order. */
export async function checkpointTensors(dir: string, dtype: ConvertDtype): Promise<{ ranges: Map<string, TensorRange>; order: string[] }> {
  const reader = directoryReader(dir);
  const config = JSON.parse(new TextDecoder().decode((await reader.readFile('config.json'))!)) as HfLlamaConfig;
  const index = await reader.readFile('model.safetensors.index.json');
  const files = index
    ? [...new Set(Object.values((JSON.parse(new TextDecoder().decode(index)) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const ranges = new Map<string, TensorRange>();
  for (const file of files)
    for (const t of (await readSafetensorsHeader((await reader.openFile(file))!)).values()) ranges.set(t.name, { file, begin: t.begin, end: t.end });
  await reader.close?.();
  const order = planConversion(resolveLlamaShape(config), computeRopeParameters(config), [dtype], DEFAULT_EXTERNAL_CHUNK_BYTES).steps.map((s) => s.source);
  return { ranges, order };
}

/** Range reads of tensor bytes (not the header read) answered by the Hub (or its CDN path). */
export const weightReads = (log: HubRequest[]) =>
  log.filter((r) => r.status === 206 && r.file?.endsWith('.safetensors') && !(r.range!.start === 0 && r.range!.end < HEADER_PREFIX_BYTES));
