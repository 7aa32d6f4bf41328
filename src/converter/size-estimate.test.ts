/**
 * The closed-form external-data size against what the converter really writes, for every dtype (q8 too),
 * tied and untied heads, and widths whose block count per row is odd (zero points padded).
 */
import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { convertCheckpoint, graphFileName, SUPPORTED_DTYPES } from './convert.ts';
import { memoryCheckpointReader, MemoryModelWriter } from './memory-io.ts';
import { storedExternalDataBytes } from '../model/size-estimate.ts';
import { SMALL_LLAMA, syntheticCheckpointFiles } from '../testing/memory-checkpoint.ts';

const oddBlocks: HfLlamaConfig = {
  ...SMALL_LLAMA,
  hidden_size: 96, // 3 blocks of 32 per row
  intermediate_size: 160, // 5 blocks
  num_attention_heads: 3,
  num_key_value_heads: 1,
  head_dim: 32,
  tie_word_embeddings: false,
};

describe.each([
  ['tied', SMALL_LLAMA],
  ['untied, odd block counts', oddBlocks],
])('storedExternalDataBytes (%s)', (_, config) => {
  it('equals the external data the converter writes, per dtype', async () => {
    const manifest = await convertCheckpoint(memoryCheckpointReader(syntheticCheckpointFiles(config)), new MemoryModelWriter(), {
      dtypes: [...SUPPORTED_DTYPES],
      maxExternalChunkBytes: 50_000, // several chunks: the total does not depend on the split
    });
    const shape = resolveLlamaShape(config);
    for (const dtype of SUPPORTED_DTYPES) {
      const chunks = manifest.filter((f) => f.path.startsWith(`onnx/${graphFileName(dtype)}_data`));
      expect(chunks.length).toBeGreaterThan(1);
      expect(storedExternalDataBytes(shape, dtype), dtype).toBe(chunks.reduce((sum, f) => sum + f.size, 0));
    }
  });
});
