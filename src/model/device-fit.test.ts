/**
 * The fit verdict over device profiles, for Kanana's real shape (2.1B) and the tiny test model.
 * Sizes are recomputed here from the converter's layout (kanana: table 128256 × 1792) so that a
 * change of the formulas shows up as a changed verdict or byte count.
 */
import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, type ModelSizing } from './config.ts';
import {
  assessFit,
  bestFitting,
  largestWeightBuffers,
  sizingOfShape,
  WASM_MEMORY_LIMIT,
  type DeviceFacts,
  type FitVerdict,
  type ModelFitInput,
} from './device-fit.ts';
import { storedExternalDataBytes } from './size-estimate.ts';
import { FIXTURES, KANANA_NANO_CONFIG } from '../testing/fixture-specs.ts';
import type { GraphDtype } from './graph-format.ts';

const MiB = 1024 ** 2,
  GiB = 1024 ** 3;
const kanana = sizingOfShape(resolveLlamaShape(KANANA_NANO_CONFIG));
const tiny = sizingOfShape(resolveLlamaShape(FIXTURES['tiny-llama'].config));

/** Chrome on a desktop GPU (D3D12 / Vulkan) reports about these limits. */
const DESKTOP: DeviceFacts = {
  gpu: { shaderF16: true, limits: { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 2 * GiB - 4 } },
  deviceMemoryGiB: 8,
  storageAvailableBytes: 100 * GiB,
};
/** An integrated GPU shares the RAM; its limits are lower. */
const INTEGRATED: DeviceFacts = {
  gpu: { shaderF16: true, limits: { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 1 * GiB } },
  deviceMemoryGiB: 8,
  storageAvailableBytes: 40 * GiB,
};
const NO_F16: DeviceFacts = { ...DESKTOP, gpu: { shaderF16: false, limits: DESKTOP.gpu!.limits } };
const BINDING_256: DeviceFacts = { ...DESKTOP, gpu: { shaderF16: true, limits: { maxBufferSize: 1 * GiB, maxStorageBufferBindingSize: 256 * MiB } } };
const MEMORY_4GB: DeviceFacts = { ...DESKTOP, deviceMemoryGiB: 4 };
/** A phone: WebGPU's default limits, no shader-f16, 4 GB of RAM, a few GB of storage. */
const PHONE: DeviceFacts = {
  gpu: { shaderF16: false, limits: { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB } },
  deviceMemoryGiB: 4,
  storageAvailableBytes: 3 * GiB,
};
const NO_WEBGPU: DeviceFacts = { gpu: null, deviceMemoryGiB: 8, storageAvailableBytes: null };

const model = (dtype: GraphDtype, contextTokens: number, sizing: ModelSizing | null = kanana, more: Partial<ModelFitInput> = {}): ModelFitInput => ({
  dtype,
  sizeBytes: null,
  storedBytes: 0,
  sizing,
  contextTokens,
  ...more,
});
/** Kanana's KV cache: 2 × 32 layers × 8 KV heads × 128 × bytes per element, per token. */
const kananaKv = (elementBytes: number, tokens: number) => 2 * 32 * 8 * 128 * elementBytes * tokens;
const codes = (m: ModelFitInput, d: DeviceFacts) => assessFit(m, d).reasons.map((r) => r.code);

describe('fit before download', () => {
  it('desktop GPU: Kanana q4f16 at 8K fits, memory = weights + 1 GiB of fp16 KV cache + the MLP activations', () => {
    const fit = assessFit(model('q4f16', 8192), DESKTOP);
    expect(fit.verdict).toBe('fits');
    expect(fit.reasons).toEqual([]);
    const weights = storedExternalDataBytes(resolveLlamaShape(KANANA_NANO_CONFIG), 'q4f16');
    expect(fit.memoryBytes).toBe(weights + kananaKv(2, 8192) + 8192 * 8064 * 2);
    expect(kananaKv(2, 8192)).toBe(1 * GiB);
  });

  it('integrated GPU: fits at 8K; at 32K the 4 GiB cache makes it tight against "8 GB or more"', () => {
    expect(assessFit(model('q4f16', 8192), INTEGRATED).verdict).toBe('fits');
    const long = assessFit(model('q4f16', 32768), INTEGRATED);
    expect(long.verdict).toBe('tight');
    expect(long.reasons[0]).toMatchObject({ code: 'memory-tight', atLeast: true, deviceMemoryBytes: 8 * GiB });
    const weights = storedExternalDataBytes(resolveLlamaShape(KANANA_NANO_CONFIG), 'q4f16');
    expect(long.memoryBytes).toBe(weights + kananaKv(2, 32768) + 32768 * 8064 * 2);
    expect(long.reasons[0]).toMatchObject({ neededBytes: long.memoryBytes });
  });

  it('no shader-f16: q4 keeps a float32 cache, so Kanana at 16K is tight, and it says why', () => {
    const fit = assessFit(model('q4', 16384), NO_F16);
    expect(fit.verdict).toBe('tight');
    expect(fit.reasons.map((r) => r.code)).toEqual(['memory-tight', 'no-shader-f16']);
    const weights = storedExternalDataBytes(resolveLlamaShape(KANANA_NANO_CONFIG), 'q4');
    expect(fit.memoryBytes).toBe(weights + kananaKv(4, 16384) + 16384 * 8064 * 4);
    expect(codes(model('q4', 8192), NO_F16)).toEqual(['no-shader-f16']);
    // q4f16 picked by hand: the engine would refuse it at load.
    expect(codes(model('q4f16', 2048), NO_F16)).toEqual(['needs-shader-f16']);
  });

  it('a 256 MiB binding limit: the fp16 embedding table (438 MiB) cannot be bound; the 4-bit one (110 MiB) and the tiny model fit', () => {
    const fit = assessFit(model('fp16', 8192), BINDING_256);
    expect(fit.verdict).toBe('no-fit');
    expect(fit.reasons[0]).toEqual({
      code: 'buffer-too-large',
      severity: 'no-fit',
      buffer: 'embedding',
      bytes: 128256 * 1792 * 2,
      limit: 'maxStorageBufferBindingSize',
      limitBytes: 256 * MiB,
    });
    expect(assessFit(model('q4f16', 8192), BINDING_256).verdict).toBe('fits');
    expect(assessFit(model('q4f16', 4096, tiny), BINDING_256).verdict).toBe('fits');
  });

  it('4 GB of device memory: Kanana at 8K does not fit (over half of it), at 2K it is tight', () => {
    const fit = assessFit(model('q4f16', 8192), MEMORY_4GB);
    expect(fit.verdict).toBe('no-fit');
    expect(fit.reasons[0]).toMatchObject({ code: 'memory-short', deviceMemoryBytes: 4 * GiB, atLeast: false });
    expect(assessFit(model('q4f16', 2048), MEMORY_4GB).verdict).toBe('tight');
  });

  it('phone-class: a clear no, with every reason; the tiny model runs there', () => {
    const fit = assessFit(model('q4', 4096), PHONE);
    expect(fit.verdict).toBe('no-fit');
    // The 4-bit table (110 MiB) can be bound under the 128 MiB limit; the float32 one cannot.
    expect(codes(model('q4', 4096), PHONE)).toEqual(['memory-short', 'no-shader-f16']);
    expect(assessFit(model('fp32', 4096), PHONE).reasons).toContainEqual(
      expect.objectContaining({ buffer: 'embedding', bytes: 128256 * 1792 * 4, limitBytes: 128 * MiB }),
    );
    const small = assessFit(model('q4', 4096, tiny), PHONE);
    expect(small.verdict).toBe('fits');
    expect(small.reasons.map((r) => r.code)).toEqual(['no-shader-f16']);
  });

  it('storage: short when the download exceeds what is left, tight above 80%, nothing once stored', () => {
    const size = 1000 * MiB;
    const at = (available: number, stored = 0) =>
      codes(model('q4f16', 4096, tiny, { sizeBytes: size, storedBytes: stored }), { ...DESKTOP, storageAvailableBytes: available });
    expect(at(500 * MiB)).toEqual(['storage-short']);
    expect(assessFit(model('q4f16', 4096, tiny, { sizeBytes: size }), { ...DESKTOP, storageAvailableBytes: 500 * MiB }).reasons[0]).toMatchObject({
      neededBytes: size,
      availableBytes: 500 * MiB,
    });
    expect(at(1100 * MiB)).toEqual(['storage-tight']);
    expect(at(500 * MiB, 600 * MiB)).toEqual([]); // 400 MiB still to fetch
    expect(at(0, size)).toEqual([]);
    expect(at(2000 * MiB)).toEqual([]);
  });

  it('without WebGPU the processor runs it (tight), and past 4 GiB WebAssembly cannot hold it', () => {
    expect(codes(model('q8', 4096), NO_WEBGPU)).toEqual(['cpu-only']);
    const long = assessFit(model('q8', 32768), NO_WEBGPU);
    expect(long.verdict).toBe('no-fit');
    expect(long.reasons[0]).toMatchObject({ code: 'wasm-memory', limitBytes: WASM_MEMORY_LIMIT });
  });

  it('no precision the device runs, or nothing known about the size', () => {
    expect(assessFit(model('q4f16', 4096), DESKTOP).verdict).toBe('fits');
    expect(assessFit({ ...model('q4f16', 4096), dtype: null }, DESKTOP)).toMatchObject({ verdict: 'no-fit', reasons: [{ code: 'no-precision' }] });
    expect(assessFit(model('q4f16', 4096, null), DESKTOP)).toMatchObject({ verdict: 'unknown', memoryBytes: null, reasons: [{ code: 'size-unknown' }] });
    // A known download size without the shape still judges memory and storage.
    expect(assessFit({ ...model('q4f16', 4096), sizing: null, sizeBytes: 3 * GiB }, MEMORY_4GB).verdict).toBe('no-fit');
  });

  it('the largest weight buffers per precision follow the converter (q4: nibbles; q8: int8 table)', () => {
    const cells = 128256 * 1792;
    expect(largestWeightBuffers(kanana, 'q4')).toEqual([
      { buffer: 'embedding', bytes: cells / 2 },
      { buffer: 'lm-head', bytes: cells / 2 },
    ]);
    expect(largestWeightBuffers(kanana, 'q8').map((b) => b.bytes)).toEqual([cells, cells]);
    expect(largestWeightBuffers(kanana, 'fp16').map((b) => b.bytes)).toEqual([cells * 2, cells * 2]);
  });

  it('the first pick is the best verdict, then the catalog order', () => {
    const verdicts: Record<string, FitVerdict> = { a: 'no-fit', b: 'tight', c: 'fits', d: 'fits' };
    expect(bestFitting(['a', 'b', 'c', 'd'], (id) => verdicts[id])).toBe('c');
    expect(bestFitting(['a', 'b'], (id) => verdicts[id])).toBe('b');
    expect(bestFitting([], () => 'fits')).toBeNull();
  });
});
