/**
 * The bench accepts the model shapes it offers: every opt-in profile names a fixture the fixtures
 * tool makes on demand, and the 3B one is Llama 3.2 3B's checkpoint, tensor for tensor (6.43 GB of
 * bf16 in two shards, as Bllossom's), run on WASM and, reduced on a CPU adapter, on WebGPU.
 * Nothing is generated here (the checkpoint is 6.4 GB): only the plan and the tensor list.
 */
import { describe, expect, it } from 'vitest';
import { checkConvertible } from '../../src/converter/convert.ts';
import { resolveLlamaShape } from '../../src/model/config.ts';
import { llamaTensorShapes } from '../../src/model/synthetic.ts';
import { extendsWithYarn } from '../../src/model/yarn.ts';
import { LLAMA32_3B_CONFIG } from '../../src/testing/fixture-specs.ts';
import { ALL_FIXTURES } from '../fixtures/registry.ts';
import { PROFILES, profileOf } from './bench-profiles.ts';

describe('bench profiles', () => {
  it('has a fixture for every model shape it offers, made on demand for the opt-in ones', () => {
    for (const [model, profile] of Object.entries(PROFILES)) {
      expect(ALL_FIXTURES[model], model).toBeDefined();
      expect(ALL_FIXTURES[model].optIn, model).toBe(profile.optIn);
    }
  });

  it('runs the llama-3.2-3b-shape on WASM and WebGPU with one run per step, two tokens on a CPU adapter, and says why', () => {
    const profile = profileOf('llama-3.2-3b-shape');
    expect(profile.optIn).toBe(true);
    expect(profile.plan.devices).toEqual(['wasm', 'webgpu']);
    expect(profile.plan).toMatchObject({ reps: 1, loadReps: 1, downloadReps: 1 });
    expect(profile.cpuAdapterPlan).toEqual({ reps: 1, prefill: [16], decode: [2], history: 0 });
    expect(profile.why).toMatch(/3\.2B/);
  });

  it("makes the 3B shape as Llama 3.2 3B's checkpoint: its tensors, 6.43 GB of bf16 in two shards, converted to q4f16 and q4", () => {
    const { spec, dtypes } = ALL_FIXTURES['llama-3.2-3b-shape'];
    expect(resolveLlamaShape(spec.config)).toEqual(resolveLlamaShape(LLAMA32_3B_CONFIG));
    expect(spec.config.rope_scaling).toEqual(LLAMA32_3B_CONFIG.rope_scaling);
    expect(extendsWithYarn(spec.config)).toBe(false);
    expect([spec.dtype, spec.shards, [...dtypes]]).toEqual(['BF16', 2, ['q4f16', 'q4']]);
    const tensors = llamaTensorShapes(spec.config);
    expect(tensors.some((t) => t.name === 'lm_head.weight')).toBe(false); // tied
    const bytes = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0);
    expect(bytes).toBe(6_425_499_648); // 4.97 GB + 1.46 GB on the Hub
    expect(() => checkConvertible(spec.config, dtypes)).not.toThrow();
  });
});
