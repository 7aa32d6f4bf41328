/**
 * The converter core in memory: the streamed, one-pass engine against buildLlamaGraph's
 * whole-tensor encoding; output independent of the row-block size; interrupted after any tensor
 * or in the middle of one and resumed, byte-identical without re-reading finished tensors;
 * stale or unusable states refused; bad checkpoints refused before anything is written.
 */
import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, UnsupportedModelError, type HfLlamaConfig } from '../model/config.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import {
  checkConvertible,
  ConversionError,
  convertCheckpoint,
  graphFileName,
  planConversion,
  SUPPORTED_DTYPES,
  type ConversionState,
  type ConvertDtype,
  type ConvertOptions,
} from './convert.ts';
import { buildLlamaGraph } from './llama-graph.ts';
import { memoryCheckpointReader, MemoryModelWriter } from './memory-io.ts';
import { encodeModel } from './onnx-proto.ts';
import { memorySource, readSafetensorsHeader, readTensorAsFloat32 } from './safetensors.ts';
import { SMALL_LLAMA, syntheticCheckpointFiles } from '../testing/memory-checkpoint.ts';

const untied: HfLlamaConfig = { ...SMALL_LLAMA, tie_word_embeddings: false };
const ALL: ConvertDtype[] = [...SUPPORTED_DTYPES];

async function convert(files: Record<string, Uint8Array>, options: ConvertOptions, writer = new MemoryModelWriter()) {
  const manifest = await convertCheckpoint(memoryCheckpointReader(files), writer, options);
  return { writer, manifest };
}

function outputs(writer: MemoryModelWriter): Record<string, Uint8Array> {
  return Object.fromEntries(writer.paths().map((p) => [p, writer.get(p)!]));
}

async function checkpointWeights(files: Record<string, Uint8Array>): Promise<Map<string, Float32Array>> {
  const source = memorySource(files['model.safetensors']);
  const weights = new Map<string, Float32Array>();
  for (const [name, info] of await readSafetensorsHeader(source)) weights.set(name, await readTensorAsFloat32(source, info));
  return weights;
}

describe.each([
  ['tied', SMALL_LLAMA],
  ['untied', untied],
])('convertCheckpoint (%s head)', (_, config) => {
  const files = syntheticCheckpointFiles(config, { seed: 4 });

  it('writes every weight where its graph points, with the bytes buildLlamaGraph encodes from whole tensors', async () => {
    // Tiny row blocks (3 rows) and chunks, so blocks, held weights and chunk changes all occur.
    const { writer } = await convert(files, { dtypes: ALL, blockBytes: 1000, maxExternalChunkBytes: 40_000 });
    const weights = await checkpointWeights(files);
    const shape = resolveLlamaShape(config);
    const rope = computeRopeParameters(config);
    const plan = planConversion(shape, rope, ALL, 40_000);
    for (const dtype of ALL) {
      const graph = plan.graphs.get(dtype)!;
      expect(writer.get(`onnx/${graphFileName(dtype)}`)).toEqual(
        encodeModel({
          graph,
          opsets: [
            { domain: '', version: 17 },
            { domain: 'com.microsoft', version: 1 },
          ],
        }),
      );
      const inline = await buildLlamaGraph(
        shape,
        rope,
        dtype,
        async (name) => weights.get(name)!,
        async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
      );
      const external = graph.initializers.filter((t) => !(t.data instanceof Uint8Array));
      expect(external.length).toBeGreaterThan(10);
      for (const tensor of external) {
        const place = tensor.data as { location: string; offset: number; length: number };
        const stored = writer.get(`onnx/${place.location}`)!.subarray(place.offset, place.offset + place.length);
        const expected = inline.initializers.find((t) => t.name === tensor.name)!.data as Uint8Array;
        expect(stored.length, tensor.name).toBe(expected.length);
        expect(Buffer.from(stored).equals(Buffer.from(expected)), `${dtype} ${tensor.name}`).toBe(true);
      }
    }
    const configOut = JSON.parse(new TextDecoder().decode(writer.get('config.json')));
    expect(configOut['transformers.js_config'].use_external_data_format['model_q4.onnx']).toBeGreaterThan(1);
  });

  it('writes the same bytes whatever the row-block size', async () => {
    const whole = outputs((await convert(files, { dtypes: ALL, blockBytes: 2 ** 40 })).writer);
    const blocked = outputs((await convert(files, { dtypes: ALL, blockBytes: 777 })).writer);
    expect(Object.keys(blocked)).toEqual(Object.keys(whole));
    for (const path of Object.keys(whole)) expect(Buffer.from(blocked[path]).equals(Buffer.from(whole[path])), path).toBe(true);
  });
});

describe('resuming an interrupted conversion', () => {
  const files = syntheticCheckpointFiles(SMALL_LLAMA, { seed: 5, shards: 2 });
  // The browser's dtypes (row-local: tensors are read in blocks of 16 rows) and many chunks.
  const options: ConvertOptions = { dtypes: ['q4', 'q4f16'], blockBytes: 4096, maxExternalChunkBytes: 60_000 };
  const plan = planConversion(resolveLlamaShape(SMALL_LLAMA), computeRopeParameters(SMALL_LLAMA), options.dtypes, options.maxExternalChunkBytes!);
  const tensorRanges = (async () => {
    const ranges: { file: string; name: string; begin: number; end: number }[] = [];
    for (const file of Object.keys(files).filter((f) => f.endsWith('.safetensors'))) {
      for (const info of (await readSafetensorsHeader(memorySource(files[file]))).values())
        ranges.push({ file, name: info.name, begin: info.begin, end: info.end });
    }
    return ranges;
  })();

  /** Runs until `crash` throws; returns the last state saved and the writer holding what was written. */
  async function interruptedRun(crash: { afterStep?: number; onRead?: number }) {
    const writer = new MemoryModelWriter();
    let saved: ConversionState | undefined;
    let reads = 0;
    const reader = memoryCheckpointReader(files, () => {
      if (crash.onRead !== undefined && ++reads === crash.onRead) throw new Error('network cut');
    });
    await expect(
      convertCheckpoint(reader, writer, {
        ...options,
        onCheckpoint: (state) => {
          saved = state;
          if (state.done === crash.afterStep) throw new Error('tab closed');
        },
      }),
    ).rejects.toThrow(/network cut|tab closed/);
    return { writer, saved: saved! };
  }

  it.each<[string, { afterStep?: number; onRead?: number }]>([
    ['after the small files', { afterStep: 0 }],
    ['after the embedding', { afterStep: 1 }],
    ['after 9 tensors', { afterStep: 9 }],
    // Reads: 2 header reads per shard, then the embedding in 19 blocks, a norm, q_proj in 8 blocks.
    ['in the middle of the embedding (read 12)', { onRead: 12 }],
    ['in the middle of a q_proj (read 30)', { onRead: 30 }],
    ['after the last tensor, before the graphs', { afterStep: plan.steps.length }],
  ])('%s: the resumed run writes the uninterrupted bytes and reads no finished tensor', async (_, crash) => {
    const expected = outputs((await convert(files, options)).writer);
    const { writer, saved } = await interruptedRun(crash);
    expect(JSON.parse(JSON.stringify(saved))).toEqual(saved); // plain JSON
    if (crash.onRead) {
      // The cut left bytes past the checkpoint, which the resumed run must drop.
      const open = saved.external.q4?.open;
      expect(writer.get(open?.path ?? 'onnx/model_q4.onnx_data')!.length).toBeGreaterThan(open?.size ?? 0);
    }
    const reads: { file: string; offset: number; length: number }[] = [];
    const resumedReader = memoryCheckpointReader(files, (file, offset, length) => reads.push({ file, offset, length }));
    await convertCheckpoint(resumedReader, writer, { ...options, resumeFrom: saved });
    const got = outputs(writer);
    expect(Object.keys(got)).toEqual(Object.keys(expected));
    for (const path of Object.keys(expected)) expect(Buffer.from(got[path]).equals(Buffer.from(expected[path])), path).toBe(true);

    expect(saved.total).toBe(plan.steps.length);
    const finished = new Set(plan.steps.slice(0, saved.done).map((s) => s.source));
    const ranges = await tensorRanges;
    // Header reads (at 0, a 64 KiB prefix reaching into the first tensor) aside.
    const tensorReads = reads.filter((read) => read.offset !== 0);
    expect(reads.length - tensorReads.length).toBe(2); // one per shard
    const touched = ranges.filter((r) => tensorReads.some((read) => read.file === r.file && read.offset < r.end && read.offset + read.length > r.begin));
    expect(touched.filter((r) => finished.has(r.name)).map((r) => r.name)).toEqual([]);
    expect(new Set(touched.map((r) => r.name)).size).toBe(plan.steps.length - saved.done);
  });

  it('refuses a state saved for other options, another source or a tampered count', async () => {
    const { saved } = await interruptedRun({ afterStep: 5 });
    const resume = (state: ConversionState, extra: Partial<ConvertOptions> = {}) =>
      convertCheckpoint(memoryCheckpointReader(files), new MemoryModelWriter(), { ...options, ...extra, resumeFrom: state });
    await expect(resume(saved, { dtypes: ['q4'] })).rejects.toMatchObject({ code: 'stale-state' });
    await expect(resume(saved, { sourceId: 'other/repo@0000' })).rejects.toMatchObject({ code: 'stale-state' });
    await expect(resume({ ...saved, done: 6 })).rejects.toMatchObject({ code: 'stale-state' });
    const open = saved.external.q4!.open!;
    const badHash = { ...saved, external: { ...saved.external, q4: { ...saved.external.q4!, open: { ...open, sha256: { ...open.sha256, pending: 'zz' } } } } };
    await expect(resume(badHash)).rejects.toMatchObject({ code: 'stale-state' });
  });

  it('says clearly when the writer cannot reopen outputs or lost bytes', async () => {
    const { writer, saved } = await interruptedRun({ afterStep: 5 });
    const plain = { writeFile: writer.writeFile.bind(writer), openOutput: writer.openOutput.bind(writer) };
    await expect(convertCheckpoint(memoryCheckpointReader(files), plain, { ...options, resumeFrom: saved })).rejects.toMatchObject({ code: 'cannot-resume' });
    await expect(convertCheckpoint(memoryCheckpointReader(files), new MemoryModelWriter(), { ...options, resumeFrom: saved })).rejects.toMatchObject({
      code: 'cannot-resume',
    });
  });
});

describe('q8 through the converter core in memory (as the in-browser conversion runs it)', () => {
  const files = syntheticCheckpointFiles(SMALL_LLAMA, { seed: 6, shards: 2 });
  const options: ConvertOptions = { dtypes: ['q8'], blockBytes: 4096, maxExternalChunkBytes: 60_000 };
  const plan = planConversion(resolveLlamaShape(SMALL_LLAMA), computeRopeParameters(SMALL_LLAMA), ['q8'], 60_000);
  /** The steps after which no fused weight is half made: q|k|v and gate|up are written with v and up. */
  const groupEnds = plan.steps.flatMap((step, i) => (/\.(q_proj|k_proj|gate_proj)\.weight$/.test(step.source) ? [] : [i + 1]));

  it('plans a step per tensor, fused weights written with their last part, and writes transformers.js q8 files', async () => {
    expect(plan.steps.map((s) => s.source)).toEqual(
      planConversion(resolveLlamaShape(SMALL_LLAMA), computeRopeParameters(SMALL_LLAMA), ['q4'], 60_000).steps.map((s) => s.source),
    );
    const names = (source: string) => plan.steps.find((s) => s.source === source)!.weights.map((w) => w.spec.name);
    expect(names('model.layers.0.self_attn.q_proj.weight')).toEqual([]);
    expect(names('model.layers.0.self_attn.v_proj.weight')).toEqual([
      'model.layers.0.self_attn.qkv_proj.weight.q8',
      'model.layers.0.self_attn.qkv_proj.weight.scales',
    ]);
    expect(names('model.embed_tokens.weight')).toEqual(['model.embed_tokens.weight.q8', 'model.embed_tokens.weight.scales']);

    const saved: number[] = [];
    const { writer, manifest } = await convert(files, { ...options, onCheckpoint: (state) => void saved.push(state.done) });
    expect(saved).toEqual([0, ...groupEnds]);
    const config = JSON.parse(new TextDecoder().decode(writer.get('config.json')));
    const chunks = config['transformers.js_config'].use_external_data_format['model_quantized.onnx'];
    expect(chunks).toBeGreaterThan(1);
    expect(manifest.map((f) => f.path).filter((p) => p.startsWith('onnx/'))).toEqual([
      ...Array.from({ length: chunks }, (_, i) => `onnx/model_quantized.onnx_data${i === 0 ? '' : `_${i}`}`),
      'onnx/model_quantized.onnx',
    ]);
  });

  it('adding q8 to a conversion leaves the other dtypes byte for byte as they were', async () => {
    const alone = outputs((await convert(files, { ...options, dtypes: ['q4', 'q4f16'] })).writer);
    const withQ8 = outputs((await convert(files, { ...options, dtypes: ['q4', 'q8', 'q4f16'] })).writer);
    for (const path of Object.keys(alone).filter((p) => p.startsWith('onnx/')))
      expect(Buffer.from(withQ8[path]).equals(Buffer.from(alone[path])), path).toBe(true);
    expect(Object.keys(withQ8).filter((p) => p.includes('quantized')).length).toBeGreaterThan(1);
  });

  it.each([
    [
      'while reading k_proj (q_proj read: the fused q|k|v weight half made)',
      'model.layers.1.self_attn.k_proj.weight',
      'model.layers.1.self_attn.q_proj.weight',
    ],
    ['while reading up_proj', 'model.layers.0.mlp.up_proj.weight', 'model.layers.0.mlp.gate_proj.weight'],
  ])('cut %s: resumes from the group start and writes the uninterrupted bytes', async (_, cutIn, groupStart) => {
    const expected = outputs((await convert(files, options)).writer);
    const ranges = new Map<string, { file: string; begin: number; end: number }>();
    for (const file of Object.keys(files).filter((f) => f.endsWith('.safetensors'))) {
      for (const info of (await readSafetensorsHeader(memorySource(files[file]))).values()) ranges.set(info.name, { file, begin: info.begin, end: info.end });
    }
    const cut = ranges.get(cutIn)!;
    const writer = new MemoryModelWriter();
    let saved: ConversionState | undefined;
    const reader = memoryCheckpointReader(files, (file, offset, length) => {
      if (file === cut.file && offset !== 0 && offset < cut.end && offset + length > cut.begin) throw new Error('network cut');
    });
    await expect(convertCheckpoint(reader, writer, { ...options, onCheckpoint: (state) => void (saved = state) })).rejects.toThrow(/network cut/);
    expect(plan.steps[saved!.done].source).toBe(groupStart);
    await convertCheckpoint(memoryCheckpointReader(files), writer, { ...options, resumeFrom: saved });
    const got = outputs(writer);
    expect(Object.keys(got)).toEqual(Object.keys(expected));
    for (const path of Object.keys(expected)) expect(Buffer.from(got[path]).equals(Buffer.from(expected[path])), path).toBe(true);
  });

  it('refuses a state that ends inside a fused group', async () => {
    let saved: ConversionState | undefined;
    await convert(files, { ...options, onCheckpoint: (state) => void (saved ??= state.done === groupEnds[1] ? state : undefined) });
    const insideGroup = { ...saved!, done: saved!.done + 1 }; // after the layer's q_proj only
    expect(plan.steps[insideGroup.done - 1].source).toMatch(/q_proj/);
    await expect(convertCheckpoint(memoryCheckpointReader(files), new MemoryModelWriter(), { ...options, resumeFrom: insideGroup })).rejects.toMatchObject({
      code: 'stale-state',
    });
  });
});

describe('checks before converting', () => {
  it('refuses a missing or misshapen tensor before writing any weight', async () => {
    const files = syntheticCheckpointFiles(untied);
    const wrongConfig = { ...untied, intermediate_size: 96 };
    const writer = new MemoryModelWriter();
    await expect(convert({ ...files, 'config.json': new TextEncoder().encode(JSON.stringify(wrongConfig)) }, { dtypes: ['q4'] }, writer)).rejects.toMatchObject(
      {
        code: 'invalid-file',
        message: expect.stringContaining('mlp.gate_proj.weight has shape [128,64]'),
      },
    );
    const tiedNeedsHead = { ...SMALL_LLAMA, tie_word_embeddings: false };
    await expect(
      convert({ ...syntheticCheckpointFiles(SMALL_LLAMA), 'config.json': new TextEncoder().encode(JSON.stringify(tiedNeedsHead)) }, { dtypes: ['q4'] }),
    ).rejects.toMatchObject({
      code: 'missing-tensor',
    });
    expect(writer.paths()).toEqual([]);
  });

  it('checkConvertible refuses other architectures, dtypes and q4-incompatible widths', () => {
    expect(() => checkConvertible({ ...SMALL_LLAMA, architectures: ['MistralForCausalLM'] })).toThrow(UnsupportedModelError);
    expect(() => checkConvertible({ ...SMALL_LLAMA, model_type: 'qwen2' })).toThrow(UnsupportedModelError);
    expect(() => checkConvertible({ ...SMALL_LLAMA, torch_dtype: undefined, dtype: 'int8' })).toThrow(/torch_dtype "int8"/);
    const odd = { ...SMALL_LLAMA, intermediate_size: 100 };
    expect(() => checkConvertible(odd, ['q4'])).toThrow(/intermediate_size \(100\)/);
    expect(checkConvertible(odd, ['fp32']).shape.intermediateSize).toBe(100);
  });

  it('needs the tokenizer unless told it is optional (a bare save_pretrained folder)', async () => {
    const { 'tokenizer.json': _tokenizer, 'tokenizer_config.json': _tokenizerConfig, ...bare } = syntheticCheckpointFiles(SMALL_LLAMA);
    await expect(convert(bare, { dtypes: ['fp32'] })).rejects.toMatchObject({ code: 'missing-file', message: expect.stringContaining('tokenizer.json') });
    const { writer, manifest } = await convert(bare, { dtypes: ['fp32'], tokenizerOptional: true });
    expect(writer.paths()).not.toContain('tokenizer.json');
    expect(writer.paths()).toContain('onnx/model.onnx');
    expect(manifest.map((f) => f.path)).not.toContain('tokenizer_config.json');
  });

  it('a bad dtype is a ConversionError', async () => {
    await expect(convert(syntheticCheckpointFiles(SMALL_LLAMA), { dtypes: ['int3' as ConvertDtype] })).rejects.toBeInstanceOf(ConversionError);
  });
});
