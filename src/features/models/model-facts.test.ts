/**
 * The picker's facts per model: Llama 3.2 3B's checkpoint is the 6.43 GB its two bf16 shards
 * total (4.97 + 1.46 GB on the Hub), converted sizes are the converter's closed form, listed
 * sizes win, and a model that is not Llama-shaped keeps only what the catalog lists.
 */
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../model/catalog.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../../model/config.ts';
import { storedExternalDataBytes } from '../../model/size-estimate.ts';
import { KANANA_NANO_CONFIG, LLAMA32_3B_CONFIG } from '../../testing/fixture-specs.ts';
import { computeModelFacts, llamaParameterCount } from './model-facts.ts';

const entry = (source: CatalogEntry['source'], dtypes: CatalogEntry['dtypes']): CatalogEntry => ({
  id: 'm',
  label: 'M',
  params: '3.2B',
  languages: ['ko'],
  license: 'x',
  nativeContext: 0,
  dtypes,
  source,
});
const safetensors = { kind: 'hf-safetensors', repo: 'Bllossom/llama-3.2-Korean-Bllossom-3B', revision: 'main' } as const;

describe('computeModelFacts', () => {
  it("counts Llama 3.2 3B's 3.21B parameters (tied), so a conversion downloads its 6.43 GB of bf16 once", () => {
    expect(llamaParameterCount(resolveLlamaShape(LLAMA32_3B_CONFIG))).toBe(3_212_749_824);
    const facts = computeModelFacts(entry(safetensors, { q4f16: null, q4: null }), { ...LLAMA32_3B_CONFIG, torch_dtype: 'bfloat16' });
    expect(facts.converts).toBe(true);
    const shape = resolveLlamaShape(LLAMA32_3B_CONFIG);
    expect(facts.precisions).toEqual({
      q4f16: { downloadBytes: 6_425_499_648, storedBytes: storedExternalDataBytes(shape, 'q4f16') },
      q4: { downloadBytes: 6_425_499_648, storedBytes: storedExternalDataBytes(shape, 'q4') },
    });
    // 1.81 GB in q4f16 (symmetric 4-bit layers, the 4-bit table shared by the tied head); q4's
    // scales and norm weights are float32 (2 bytes more each): 2.01 GB.
    expect(facts.precisions.q4f16!.storedBytes).toBe(1_807_423_488);
    const normWeights = (2 * 28 + 1) * 3072;
    expect(facts.precisions.q4!.storedBytes - facts.precisions.q4f16!.storedBytes).toBe(
      ((llamaParameterCount(shape) - normWeights) / 32) * 2 + normWeights * 2,
    );
    expect(facts.precisions.q4!.storedBytes).toBe(2_008_559_616);
  });

  it('downloads what it stores for a ready ONNX model, preferring the listed sizes; fp32 checkpoints count 4 bytes a weight', () => {
    const onnx = computeModelFacts(entry({ kind: 'hf', repo: 'a/b', revision: 'main' }, { q4: 123, fp16: null }), KANANA_NANO_CONFIG);
    expect(onnx.precisions.q4).toEqual({ downloadBytes: 123, storedBytes: 123 });
    expect(onnx.precisions.fp16!.storedBytes).toBe(storedExternalDataBytes(resolveLlamaShape(KANANA_NANO_CONFIG), 'fp16'));
    const fp32 = computeModelFacts(entry(safetensors, { q4: null }), { ...KANANA_NANO_CONFIG, torch_dtype: 'float32' });
    expect(fp32.precisions.q4!.downloadBytes).toBe(llamaParameterCount(resolveLlamaShape(KANANA_NANO_CONFIG)) * 4);
  });

  it('keeps only the listed sizes for a model that is not Llama-shaped, and nothing of a conversion without its config', () => {
    const exaone = { model_type: 'exaone', max_position_embeddings: 32768 } as HfLlamaConfig;
    expect(computeModelFacts(entry({ kind: 'hf', repo: 'a/b', revision: 'main' }, { q4: 2_400_000_000, fp16: null }), exaone).precisions).toEqual({
      q4: { downloadBytes: 2_400_000_000, storedBytes: 2_400_000_000 },
    });
    expect(computeModelFacts(entry(safetensors, { q4: null }), null).precisions).toEqual({});
  });
});
