/**
 * What a model costs, shown in the picker before anything is fetched: the bytes each precision
 * downloads and stores, and the weights' share of the memory it needs (the KV cache's share comes
 * from the context-length setting). From the catalog's sizes where it lists them, else in closed
 * form from config.json: src/model/size-estimate.ts is exactly what the converter stores, and
 * a conversion downloads the checkpoint's weights (parameters × bytes of its torch_dtype) once.
 * Facts only: whether they fit this device is decided elsewhere. Pure.
 */
import { convertsInBrowser, MODEL_DTYPES, type CatalogEntry, type ModelDtype } from '../../model/catalog.ts';
import { resolveLlamaShape, UnsupportedModelError, type HfLlamaConfig, type LlamaShape } from '../../model/config.ts';
import { storedExternalDataBytes } from '../../model/size-estimate.ts';

export interface PrecisionFacts {
  /** Bytes fetched: the precision's files, or for an in-browser conversion the original weights (not kept). */
  downloadBytes: number;
  /** Bytes stored, and so roughly what the weights take in memory once loaded. */
  storedBytes: number;
}

export interface ModelFacts {
  modelId: string;
  converts: boolean;
  /** Per precision the entry offers, where known. */
  precisions: Partial<Record<ModelDtype, PrecisionFacts>>;
}

/** Parameters of a Llama checkpoint: table, layers (4 attention and 3 MLP matrices, 2 norms), final norm, an untied head. */
export function llamaParameterCount(shape: LlamaShape): number {
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: HD, intermediateSize: I, numLayers: L, vocabSize: V } = shape;
  const layer = d * HD * (H + 2 * KV) + H * HD * d + 3 * d * I + 2 * d;
  return V * d * (shape.tieWordEmbeddings ? 1 : 2) + L * layer + d;
}

/** Bytes per parameter of a checkpoint's torch_dtype (bf16 when unsaid, as the Hub's Llama checkpoints are). */
function checkpointElementBytes(config: HfLlamaConfig): number {
  return config.torch_dtype === 'float32' ? 4 : 2;
}

function llamaShapeOf(config: HfLlamaConfig | null): LlamaShape | null {
  if (!config) return null;
  try {
    return resolveLlamaShape(config);
  } catch (error) {
    if (error instanceof UnsupportedModelError) return null; // e.g. EXAONE: the catalog's sizes only
    throw error;
  }
}

export function computeModelFacts(entry: CatalogEntry, config: HfLlamaConfig | null): ModelFacts {
  const shape = llamaShapeOf(config);
  const converts = convertsInBrowser(entry);
  const precisions: ModelFacts['precisions'] = {};
  for (const dtype of MODEL_DTYPES) {
    if (!(dtype in entry.dtypes)) continue;
    const listed = entry.dtypes[dtype];
    const storedBytes = typeof listed === 'number' ? listed : shape ? storedExternalDataBytes(shape, dtype) : null;
    if (storedBytes === null) continue;
    if (!converts) precisions[dtype] = { downloadBytes: storedBytes, storedBytes };
    else if (shape && config) precisions[dtype] = { downloadBytes: llamaParameterCount(shape) * checkpointElementBytes(config), storedBytes };
  }
  return { modelId: entry.id, converts, precisions };
}
