/** Loads a Hugging Face checkpoint folder into the TypeScript reference model a graph of `dtype` is held to (tests only). */
import type { HfLlamaConfig } from '../../src/model/config.ts';
import type { GraphDtype } from '../../src/model/graph-format.ts';
import type { ReferenceLlama } from '../../src/model/reference.ts';
import { readCheckpointWeights } from '../../src/testing/checkpoint-weights.ts';
import { dtypeReference } from '../../src/testing/dtype-reference.ts';

export async function loadReferenceModel(checkpointDir: string, config: HfLlamaConfig, dtype: GraphDtype = 'fp32'): Promise<ReferenceLlama> {
  return dtypeReference(config, await readCheckpointWeights(checkpointDir), dtype);
}
