/**
 * The RoPE patch on graphs built in memory: the converter's own graphs (cos/sin caches with
 * GroupQueryAttention, inv_freq with plain attention) and small
 * hand-made graphs holding cos/sin caches (onnxruntime-genai form), float_data storage and
 * external data. Values are checked against computeRopeParameters and a direct cos/sin formula;
 * bytes outside the patched initializers are checked to pass through unchanged.
 */
import { describe, expect, it } from 'vitest';
import { buildLlamaGraph } from './llama-graph.ts';
import { DataType, encodeModel, type Tensor } from './onnx-proto.ts';
import { float16BitsToFloat32 } from '../lib/float16.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { graphRange, readInitializers, type InitializerView } from '../model/onnx-initializers.ts';
import { patchConfigJson, patchOnnxRope, RopePatchError } from '../model/rope-patch.ts';
import { cacheGraph, cacheTensors, config, directCache, extended, opsets } from '../testing/rope-graphs.ts';
import { syntheticLlamaWeights } from '../model/synthetic.ts';
import { computeRopeParameters, patchConfigForContext, ropeTable } from '../model/yarn.ts';
import type { AttentionKind } from '../model/graph-format.ts';

/** The converter's graph for `graphConfig`, weights referenced in external data as in real models. */
async function converterGraph(graphConfig: HfLlamaConfig, attention?: AttentionKind): Promise<Uint8Array> {
  const weights = syntheticLlamaWeights(graphConfig, 4);
  let offset = 0;
  const graph = await buildLlamaGraph(
    resolveLlamaShape(graphConfig),
    computeRopeParameters(graphConfig),
    'fp32',
    async (name) => weights.get(name)!,
    async (name, dataType, dims, bytes) => {
      const tensor: Tensor = { name, dataType, dims, data: { location: 'model.onnx_data', offset, length: bytes.length } };
      offset += bytes.length;
      return tensor;
    },
    { attention },
  );
  return encodeModel({ graph, opsets });
}

const valuesOf = (t: InitializerView) =>
  t.dataType === DataType.FLOAT16
    ? Array.from(new Uint16Array(new Uint8Array(t.rawData!).buffer), float16BitsToFloat32)
    : Array.from(new Float32Array(new Uint8Array(t.rawData!).buffer));

/** The model's bytes with the given initializer fields and the graph's tag and length cut out. */
function withoutInitializers(model: Uint8Array, names: string[]): number[] {
  const { fieldStart, payloadStart, payloadEnd } = graphRange(model);
  const kept = [...model.subarray(0, fieldStart)];
  let position = payloadStart;
  for (const t of readInitializers(model).filter((t) => names.includes(t.name))) {
    kept.push(...model.subarray(position, t.fieldStart));
    position = t.fieldEnd;
  }
  kept.push(...model.subarray(position, payloadEnd), ...model.subarray(payloadEnd));
  return kept;
}

function expectRopeError(run: () => unknown, code: RopePatchError['code'], message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(RopePatchError);
  expect((caught as RopePatchError).code).toBe(code);
  expect((caught as RopePatchError).message).toMatch(message);
}

describe('patchConfigJson', () => {
  const bytes = new TextEncoder().encode(JSON.stringify({ ...config, 'transformers.js_config': { use_external_data_format: { 'model.onnx': 1 } } }));

  it('is the identity within the native window', () => {
    const plan = patchConfigJson(bytes, 64);
    expect(plan.changed).toBe(false);
    expect(plan.bytes).toBe(bytes);
    expect(plan.patched).toBe(plan.original);
  });

  it('serves YaRN rope_scaling and the raised window past it, keeping every other key', () => {
    const plan = patchConfigJson(bytes, 512);
    expect(plan.changed).toBe(true);
    const served = JSON.parse(new TextDecoder().decode(plan.bytes));
    expect(served.max_position_embeddings).toBe(512);
    expect(served.rope_scaling).toEqual({ type: 'yarn', factor: 8, original_max_position_embeddings: 64, beta_fast: 64, beta_slow: 2 });
    expect(served['transformers.js_config']).toEqual({ use_external_data_format: { 'model.onnx': 1 } });
    expect(served).toEqual(plan.patched);
  });

  it('refuses bad input with typed errors', () => {
    expectRopeError(() => patchConfigJson(new TextEncoder().encode('{ nope'), 512), 'invalid-config', /not valid JSON/);
    expectRopeError(() => patchConfigJson(bytes, 0), 'invalid-config', /positive integer/);
    const llama3 = new TextEncoder().encode(
      JSON.stringify({ ...config, rope_scaling: { rope_type: 'llama3', factor: 8, original_max_position_embeddings: 16 } }),
    );
    expectRopeError(() => patchConfigJson(llama3, 512), 'unsupported-rope', /llama3/);
  });
});

describe("patchOnnxRope on the converter's graph (inv_freq form, plain attention)", () => {
  it('is the identity, without parsing, when the configs are the same', () => {
    const garbage = Uint8Array.of(1, 2, 3);
    expect(patchOnnxRope(garbage, config, config)).toEqual({ bytes: garbage, form: null, changed: false });
  });

  it('rewrites rope.inv_freq and rope.attention_scale and nothing else', async () => {
    const original = await converterGraph(config, 'plain');
    const { bytes, form, changed } = patchOnnxRope(original, config, extended);
    expect([form, changed]).toEqual(['inv-freq', true]);
    const after = new Map(readInitializers(bytes).map((t) => [t.name, t]));
    const want = computeRopeParameters(extended);
    expect(valuesOf(after.get('rope.inv_freq')!)).toEqual(Array.from(want.invFreq));
    expect(after.get('rope.inv_freq')!.dims).toEqual([16]);
    expect(valuesOf(after.get('rope.attention_scale')!)).toEqual([Math.fround(1 + 0.1 * Math.log(8))]);
    expect(after.get('rope.attention_scale')!.dims).toEqual([]);
    // Same sizes, same field order: only bytes inside the two raw_data payloads may differ.
    expect(bytes.length).toBe(original.length);
    const payloads = ['rope.inv_freq', 'rope.attention_scale'].map((name) => {
      const raw = after.get(name)!.rawData!;
      return [raw.byteOffset, raw.byteOffset + raw.length];
    });
    const changedAt = Array.from(bytes.keys()).filter((i) => bytes[i] !== original[i]);
    expect(changedAt.length).toBeGreaterThan(0);
    for (const i of changedAt) expect(payloads.some(([start, end]) => i >= start && i < end)).toBe(true);
    // Every other initializer still points at the same external data.
    const before = readInitializers(original);
    expect(before.filter((t) => t.external).length).toBeGreaterThan(5);
    for (const t of before.filter((t) => t.external)) expect(after.get(t.name)?.external).toBe(true);
  });

  it('refuses constants that the original config does not give', async () => {
    const otherTheta = await converterGraph({ ...config, rope_theta: 10000 }, 'plain');
    expectRopeError(() => patchOnnxRope(otherTheta, config, extended), 'unrecognised-rope', /rope\.inv_freq\[1\] = .* but the config gives/);
    const alreadyYarn = await converterGraph(patchConfigForContext(config, 256), 'plain');
    expectRopeError(() => patchOnnxRope(alreadyYarn, config, extended), 'unrecognised-rope', /rope\.inv_freq/);
  });

  it('refuses graphs without a recognised pair, and bytes that are not ONNX', () => {
    const [cos] = cacheTensors(computeRopeParameters(config), 64, false);
    const onlyCos = encodeModel({ graph: { name: 'g', nodes: [], inputs: [], outputs: [], initializers: [cos] }, opsets });
    expectRopeError(() => patchOnnxRope(onlyCos, config, extended), 'unrecognised-rope', /found cos_cache but not exactly one known pair/);
    const none = encodeModel({ graph: { name: 'g', nodes: [], inputs: [], outputs: [], initializers: [] }, opsets });
    expectRopeError(() => patchOnnxRope(none, config, extended), 'unrecognised-rope', /no rope\.inv_freq/);
    expectRopeError(() => patchOnnxRope(Uint8Array.of(0x3a, 0x05, 0x2a), config, extended), 'invalid-onnx', /Truncated|malformed/);
    expectRopeError(() => patchOnnxRope(Uint8Array.of(0x08, 0x08), config, extended), 'invalid-onnx', /graph is missing/);
  });

  it('reads values stored as packed float_data and replaces them with raw_data', () => {
    const rope = computeRopeParameters(config);
    // Hand-encoded TensorProtos: dims (1), data_type (2), float_data packed (4), name (8).
    const tensor = (name: string, dims: number[], values: Float32Array) => {
      const nameBytes = new TextEncoder().encode(name);
      const data = new Uint8Array(values.buffer);
      const body = [...dims.flatMap((d) => [0x08, d]), 0x10, 0x01, 0x22, data.length, ...data, 0x42, nameBytes.length, ...nameBytes];
      return [0x2a, body.length, ...body];
    };
    const graph = [...tensor('rope.inv_freq', [16], rope.invFreq), ...tensor('rope.attention_scale', [], Float32Array.of(1))];
    const model = Uint8Array.from([0x3a, graph.length, ...graph]);
    const stored = readInitializers(model);
    expect(Array.from(stored[0].floatData!)).toEqual(Array.from(rope.invFreq));
    const { bytes } = patchOnnxRope(model, config, extended);
    const after = readInitializers(bytes);
    expect(after.map((t) => [t.name, t.floatData])).toEqual([
      ['rope.inv_freq', null],
      ['rope.attention_scale', null],
    ]);
    expect(valuesOf(after[0])).toEqual(Array.from(computeRopeParameters(extended).invFreq));
  });
});

describe("patchOnnxRope on the converter's GroupQueryAttention graph (cos/sin caches)", () => {
  it('grows cos_cache and sin_cache to the new window, recomputed from the patched config, and keeps the rest', async () => {
    const original = await converterGraph(config);
    const { bytes, form } = patchOnnxRope(original, config, extended);
    expect(form).toBe('cos-sin-cache');
    const before = new Map(readInitializers(original).map((t) => [t.name, t]));
    const after = new Map(readInitializers(bytes).map((t) => [t.name, t]));
    expect([before.has('rope.inv_freq'), after.has('rope.inv_freq')]).toEqual([false, false]);
    for (const kind of ['cos', 'sin'] as const) {
      expect(before.get(`${kind}_cache`)!.dims).toEqual([config.max_position_embeddings, 16]);
      expect(after.get(`${kind}_cache`)!.dims).toEqual([extended.max_position_embeddings, 16]);
      expect(valuesOf(after.get(`${kind}_cache`)!)).toEqual(Array.from(ropeTable(kind, computeRopeParameters(extended), extended.max_position_embeddings)));
    }
    expect(withoutInitializers(bytes, ['cos_cache', 'sin_cache'])).toEqual(withoutInitializers(original, ['cos_cache', 'sin_cache']));
  });

  it('refuses caches that another config made', async () => {
    const otherTheta = await converterGraph({ ...config, rope_theta: 10000 });
    expectRopeError(() => patchOnnxRope(otherTheta, config, extended), 'unrecognised-rope', /cos_cache\[1, 1\]/);
  });
});

describe('patchOnnxRope on cos/sin caches (onnxruntime-genai form)', () => {
  const weight: Tensor = {
    name: 'model.embed_tokens.weight',
    dataType: DataType.FLOAT,
    dims: [300, 64],
    data: { location: 'model.onnx_data', offset: 0, length: 76800 },
  };

  for (const half of [false, true]) {
    it(`recomputes ${half ? 'float16' : 'float32'} caches for the longer window and keeps the rest`, () => {
      const original = cacheGraph(...cacheTensors(computeRopeParameters(config), 64, half), [weight]);
      const { bytes, form } = patchOnnxRope(original, config, extended);
      expect(form).toBe('cos-sin-cache');
      const after = new Map(readInitializers(bytes).map((t) => [t.name, t]));
      const tolerance = half ? 1e-3 : 1e-6;
      for (const kind of ['cos', 'sin'] as const) {
        const cache = after.get(`${kind}_cache`)!;
        expect(cache.dims).toEqual([512, 16]);
        expect(cache.dataType).toBe(half ? DataType.FLOAT16 : DataType.FLOAT);
        const got = valuesOf(cache);
        const want = directCache(kind, computeRopeParameters(extended), 512);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(tolerance + 1.2e-7 * 512);
      }
      expect(after.get(weight.name)?.external).toBe(true);
      expect(withoutInitializers(bytes, ['cos_cache', 'sin_cache'])).toEqual(withoutInitializers(original, ['cos_cache', 'sin_cache']));
    });
  }

  it('refuses caches that do not match the config', () => {
    const wrong = cacheGraph(...cacheTensors(computeRopeParameters({ ...config, rope_theta: 10000 }), 64, false));
    expectRopeError(() => patchOnnxRope(wrong, config, extended), 'unrecognised-rope', /cos_cache\[1, 1\]/);
    const [cos, sin] = cacheTensors(computeRopeParameters(config), 64, false);
    const narrow = cacheGraph({ ...cos, dims: [128, 8] }, { ...sin, dims: [128, 8] });
    expectRopeError(() => patchOnnxRope(narrow, config, extended), 'unrecognised-rope', /\[128, 8\]/);
  });

  it('refuses caches kept in external data', () => {
    const external = (name: string): Tensor => ({
      name,
      dataType: DataType.FLOAT16,
      dims: [64, 16],
      data: { location: 'model.onnx_data', offset: 0, length: 2048 },
    });
    const model = cacheGraph(external('cos_cache'), external('sin_cache'));
    expectRopeError(() => patchOnnxRope(model, config, extended), 'external-rope', /cos_cache in external data/);
  });
});
