/**
 * The converter core: a Hugging Face Llama checkpoint → a transformers.js model folder
 * (docs/model-format.md). Plain TypeScript over byte sources and output streams, with no Node or
 * DOM API, so the same code runs in the Node CLI and in a browser worker.
 *
 * One pass for every dtype: the graphs are planned first, without any weight, which fixes where
 * each weight goes in external data. Then each checkpoint tensor is read once, in blocks of rows,
 * and every dtype's weights made from it are written (a float tied head is made from the
 * embedding in the same step and placed right after the table, so the table is neither kept in
 * memory nor read twice; a quantized one shares the table). A q8 weight fuses tensors (q|k|v, gate|up): it is filled in memory as they come
 * and written with the last. After each tensor (except inside such a group) the converter hands
 * out a serialisable ConversionState; given back as `resumeFrom`, a later run goes on from there,
 * without reading or computing finished tensors again, and writes the same bytes as an
 * uninterrupted run.
 *
 * Past 400 lines: planning, tensor checks, the resumable state and the write loop share the plan
 * and its identity; the plan itself is conversion-plan.ts, the layout external-data.ts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { resolveLlamaShape, UnsupportedModelError, type HfLlamaConfig, type LlamaShape } from '../model/config.ts';
import { computeRopeParameters, type RopeParameters } from '../model/yarn.ts';
import { type AttentionKind, type EmbeddingLayout } from '../model/graph-format.ts';
import {
  fusedWeightsOpenAfter,
  graphFileName,
  planConversion,
  type ConversionPlan,
  type ConversionStep,
  type ConvertDtype,
  type PlannedWeight,
} from './conversion-plan.ts';
import { emptyExternalDataState, ExternalDataSink, type ExternalDataState } from './external-data.ts';
import { ConversionError, type CheckpointReader, type ManifestFile, type ModelWriter } from './model-io.ts';
import { encodeModel } from './onnx-proto.ts';
import { ResumableSha256 } from '../lib/resumable-sha256.ts';
import { readSafetensorsHeader, readTensorElementsAsFloat32, type ByteSource, type TensorInfo } from './safetensors.ts';
import { bytesPerSourceRow, encodeWeightRows, fillQ8Columns, isQ8, needsWholeTensor, RowBlock, sourceMatrix } from './weight-encoding.ts';

export { ConversionError } from './model-io.ts';
export type { CheckpointReader, ConversionErrorCode, ManifestFile, ModelWriter, OutputStream } from './model-io.ts';

export { graphFileName, planConversion } from './conversion-plan.ts';
export type { ConversionPlan, ConversionStep, ConvertDtype, PlannedWeight } from './conversion-plan.ts';
export const SUPPORTED_DTYPES: readonly ConvertDtype[] = ['fp32', 'fp16', 'q4', 'q4f16', 'q8'];

export const GRAPH_OPSETS = [
  { domain: '', version: 17 },
  { domain: 'com.microsoft', version: 1 },
];

/**
 * Part of every plan id: bump when the converter's output bytes change, so no run resumes onto
 * older output (2: GroupQueryAttention; 3: 4-bit token embedding). The id also holds where each
 * weight is placed, so a layout change cannot resume onto older output even unbumped.
 */
const OUTPUT_VERSION = 3;
/** The checkpoint's tokenizer files, copied unchanged: Hanmadi needs both to chat. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;
/** External data is split into files of at most this size unless told otherwise (the CLI and the in-browser conversion write the same files). */
export const DEFAULT_EXTERNAL_CHUNK_BYTES = 1024 ** 3;
const STATE_FORMAT = 1;

export type ConversionProgress =
  | { kind: 'file'; path: string; size: number }
  /** One checkpoint tensor converted for every dtype (a fused q8 weight is written with its group's last); `done` of `total`. */
  | { kind: 'tensor'; name: string; done: number; total: number; bytesWritten: number };

export interface ConvertOptions {
  dtypes: ConvertDtype[];
  /** Attention form of every graph (llama-graph.ts); default GroupQueryAttention where the shape allows. */
  attention?: AttentionKind;
  /** How q4 / q4f16 graphs store the token embedding (default: 4-bit, shared by a tied head). */
  embedding?: EmbeddingLayout;
  onProgress?: (event: ConversionProgress) => void;
  /** External data is split into files of at most this many bytes (a tensor never spans two). */
  maxExternalChunkBytes?: number;
  /**
   * Tensors are read and converted in blocks of rows of about this many float32 bytes (default
   * 64 MiB), which bounds memory; it does not change the output. Transposed fp32/fp16 weights
   * need their whole tensor.
   */
  blockBytes?: number;
  /**
   * Called after the small files and after each tensor, once the outputs are flushed, with the
   * state to persist; awaited, so a slow store holds the conversion back rather than falling behind.
   * Not inside a group of tensors fused into one q8 weight (q|k|v, gate|up): that weight is only
   * in memory until its last tensor is converted.
   */
  onCheckpoint?: (state: ConversionState) => Promise<void> | void;
  /** A state saved by onCheckpoint: the conversion goes on from there (same options required). */
  resumeFrom?: ConversionState;
  /** Identifies the source bytes (e.g. `repo@commit`); a state saved for another source is refused. */
  sourceId?: string;
  /** Stops the conversion between blocks (the last checkpoint stays valid). */
  signal?: AbortSignal;
  /**
   * Converts a checkpoint without tokenizer files (the output then loads in transformers.js
   * for token ids, but Hanmadi cannot chat with it until they are added). Off by default.
   */
  tokenizerOptional?: boolean;
}

/**
 * Where an interrupted conversion stands; plain JSON. Every weight's place in external data
 * follows from the plan (config, dtypes, chunk size), so the state holds no initializer list:
 * just how many tensors are done and, per dtype, the chunk files closed and the one open (its
 * size and running SHA-256). `planId` ties it to the checkpoint, options and converter version.
 */
export interface ConversionState {
  format: typeof STATE_FORMAT;
  planId: string;
  /** Tensors finished, in plan order, of `total`. */
  done: number;
  total: number;
  /** The small files (tokenizer, generation config), all written before the first checkpoint. */
  files: ManifestFile[];
  external: Partial<Record<ConvertDtype, ExternalDataState>>;
}

export const MANIFEST_FILE = 'hanmadi-manifest.json';

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(JSON.stringify(value, null, 2) + '\n');

export function parseJson<T>(bytes: Uint8Array, name: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw new ConversionError('invalid-file', `${name} is not valid JSON.`);
  }
}

/**
 * Refuses what the converter cannot turn into a working graph, before anything is downloaded:
 * the Llama checks of resolveLlamaShape, the architecture, the checkpoint dtype, the RoPE type
 * and (for 4-bit dtypes) input widths that MatMulNBits' 32-wide blocks divide.
 */
export function checkConvertible(config: HfLlamaConfig, dtypes: readonly ConvertDtype[] = SUPPORTED_DTYPES): { shape: LlamaShape; rope: RopeParameters } {
  const shape = resolveLlamaShape(config);
  if (config.architectures?.length && !config.architectures.includes('LlamaForCausalLM')) {
    throw new UnsupportedModelError(`Unsupported architectures ${JSON.stringify(config.architectures)}: only LlamaForCausalLM checkpoints can be converted.`, {
      unsupported: 'architectures',
      value: config.architectures.join(', '),
    });
  }
  // transformers v5 writes `dtype` where v4 wrote `torch_dtype`.
  const weightDtype = config.torch_dtype ?? (typeof config.dtype === 'string' ? config.dtype : undefined);
  if (weightDtype && !['bfloat16', 'float16', 'float32'].includes(weightDtype)) {
    throw new UnsupportedModelError(`Unsupported torch_dtype "${weightDtype}" (bf16, fp16 or fp32 checkpoints only).`, {
      unsupported: 'torch-dtype',
      value: weightDtype,
    });
  }
  const rope = computeRopeParameters(config);
  if (dtypes.some((d) => d === 'q4' || d === 'q4f16')) {
    const widths = {
      hidden_size: shape.hiddenSize,
      'num_attention_heads × head_dim': shape.numHeads * shape.headDim,
      intermediate_size: shape.intermediateSize,
    };
    for (const [name, width] of Object.entries(widths)) {
      if (width % 32 !== 0) {
        throw new UnsupportedModelError(`${name} (${width}) is not a multiple of 32, which 4-bit quantization needs.`, {
          unsupported: 'width-32',
          value: name,
          width,
        });
      }
    }
  }
  return { shape, rope };
}

type TensorIndex = Map<string, { source: ByteSource; info: TensorInfo }>;

/** Where every tensor lives: one safetensors file or the shards of an index. */
export async function indexTensors(reader: CheckpointReader): Promise<TensorIndex> {
  const indexBytes = await reader.readFile('model.safetensors.index.json');
  const shardNames = indexBytes
    ? [...new Set(Object.values(parseJson<{ weight_map: Record<string, string> }>(indexBytes, 'model.safetensors.index.json').weight_map))]
    : ['model.safetensors'];
  const tensors: TensorIndex = new Map();
  for (const shard of shardNames) {
    const source = await reader.openFile(shard);
    if (!source)
      throw new ConversionError(
        'missing-file',
        `Checkpoint file ${shard} is missing (expected model.safetensors or the shards of model.safetensors.index.json).`,
      );
    for (const [name, info] of await readSafetensorsHeader(source)) tensors.set(name, { source, info });
  }
  return tensors;
}

export async function convertCheckpoint(reader: CheckpointReader, writer: ModelWriter, options: ConvertOptions): Promise<ManifestFile[]> {
  try {
    return await convertOpenCheckpoint(reader, writer, options);
  } finally {
    await reader.close?.();
  }
}

function checkTensors(steps: ConversionStep[], tensors: TensorIndex): void {
  for (const step of steps) {
    const entry = tensors.get(step.source);
    if (!entry) throw new ConversionError('missing-tensor', `Tensor ${step.source} is missing from the checkpoint.`);
    if (entry.info.shape.join() !== step.sourceShape.join()) {
      throw new ConversionError('invalid-file', `Tensor ${step.source} has shape [${entry.info.shape}], but config.json implies [${step.sourceShape}].`);
    }
  }
}

function planIdOf(options: ConvertOptions, config: HfLlamaConfig, maxChunkBytes: number, steps: ConversionStep[], tensors: TensorIndex): string {
  const layout = steps.map((s) =>
    s.weights.map(({ dtype, spec, target }) => [dtype, spec.name, spec.dims, spec.encoding.kind, target.location, target.offset]),
  );
  const sources = steps.map((s) => {
    const { info } = tensors.get(s.source)!;
    return [s.source, info.dtype, info.end - info.begin];
  });
  const identity = {
    OUTPUT_VERSION,
    sourceId: options.sourceId ?? null,
    config,
    dtypes: options.dtypes,
    attention: options.attention ?? null,
    embedding: options.embedding ?? null,
    maxChunkBytes,
    sources,
    layout,
  };
  return bytesToHex(sha256(encoder.encode(JSON.stringify(identity))));
}

/** Where a dtype's external data must stand after `done` steps: the last chunk written and its size. */
function expectedPosition(plan: ConversionPlan, dtype: ConvertDtype, done: number): { path: string; size: number; closed: number } | null {
  for (let i = done - 1; i >= 0; i--) {
    const weights = plan.steps[i].weights.filter((w) => w.dtype === dtype);
    const last = weights[weights.length - 1];
    if (!last) continue;
    const chunkIndex = Number(/_data(?:_(\d+))?$/.exec(last.target.location)?.[1] ?? 0);
    return { path: `onnx/${last.target.location}`, size: last.target.offset + last.target.length, closed: chunkIndex };
  }
  return null;
}

function checkResumeState(state: ConversionState, planId: string, plan: ConversionPlan, dtypes: readonly ConvertDtype[]): void {
  if (state.format !== STATE_FORMAT || state.planId !== planId || state.total !== plan.steps.length) {
    throw new ConversionError('stale-state', 'The saved conversion state belongs to another checkpoint, converter version or options; start over.');
  }
  if (!Number.isInteger(state.done) || state.done < 0 || state.done > state.total) {
    throw new ConversionError('stale-state', `The saved conversion state says ${state.done} of ${state.total} tensors are done.`);
  }
  if (fusedWeightsOpenAfter(plan, state.done) > 0) {
    throw new ConversionError('stale-state', `The saved conversion state ends inside a group of tensors fused into one q8 weight (after ${state.done}).`);
  }
  for (const dtype of dtypes) {
    const saved = state.external[dtype] ?? emptyExternalDataState();
    const expected = expectedPosition(plan, dtype, state.done);
    const consistent = expected
      ? saved.open?.path === expected.path && saved.open.size === expected.size && saved.closed.length === expected.closed
      : saved.open === null && saved.closed.length === 0;
    if (!consistent) throw new ConversionError('stale-state', `The saved ${dtype} external data does not match ${state.done} finished tensors.`);
    if (saved.open) {
      try {
        ResumableSha256.check(saved.open.sha256);
      } catch {
        throw new ConversionError('stale-state', `The saved ${dtype} hash state is malformed.`);
      }
    }
  }
}

async function convertOpenCheckpoint(reader: CheckpointReader, writer: ModelWriter, options: ConvertOptions): Promise<ManifestFile[]> {
  for (const dtype of options.dtypes) {
    if (!SUPPORTED_DTYPES.includes(dtype)) {
      throw new ConversionError('bad-dtype', `Unsupported dtype "${dtype}" (supported: ${SUPPORTED_DTYPES.join(', ')}).`);
    }
  }
  const dtypes = [...new Set(options.dtypes)];
  const configBytes = await reader.readFile('config.json');
  if (!configBytes) throw new ConversionError('missing-file', 'config.json is missing: not a Hugging Face checkpoint folder.');
  const config = parseJson<HfLlamaConfig>(configBytes, 'config.json');
  const { shape, rope } = checkConvertible(config, dtypes);

  const tensors = await indexTensors(reader);
  const maxChunkBytes = options.maxExternalChunkBytes ?? DEFAULT_EXTERNAL_CHUNK_BYTES;
  const plan = planConversion(shape, rope, dtypes, maxChunkBytes, { attention: options.attention, embedding: options.embedding });
  checkTensors(plan.steps, tensors);
  const planId = planIdOf({ ...options, dtypes }, config, maxChunkBytes, plan.steps, tensors);
  const saveCheckpoint = async (state: ConversionState) => {
    await options.onCheckpoint?.(JSON.parse(JSON.stringify(state)) as ConversionState);
  };

  const emit = async (files: ManifestFile[], path: string, bytes: Uint8Array) => {
    await writer.writeFile(path, bytes);
    files.push({ path, size: bytes.length, sha256: bytesToHex(sha256(bytes)) });
    options.onProgress?.({ kind: 'file', path, size: bytes.length });
  };

  let state: ConversionState;
  if (options.resumeFrom) {
    state = JSON.parse(JSON.stringify(options.resumeFrom)) as ConversionState;
    checkResumeState(state, planId, plan, dtypes);
  } else {
    const files: ManifestFile[] = [];
    for (const name of TOKENIZER_FILES) {
      const bytes = await reader.readFile(name);
      if (!bytes && options.tokenizerOptional) continue;
      if (!bytes) throw new ConversionError('missing-file', `${name} is missing: the converted model needs the checkpoint's tokenizer.`);
      await emit(files, name, bytes);
    }
    const specialTokens = await reader.readFile('special_tokens_map.json');
    if (specialTokens) await emit(files, 'special_tokens_map.json', specialTokens);
    const generation = await reader.readFile('generation_config.json');
    await emit(files, 'generation_config.json', generation ?? json({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }));
    state = { format: STATE_FORMAT, planId, done: 0, total: plan.steps.length, files, external: {} };
    await saveCheckpoint(state);
  }

  const sinks = new Map(dtypes.map((dtype) => [dtype, new ExternalDataSink(writer, 'onnx', state.external[dtype])]));
  /** q8 weights being filled, until the step of their last part writes them. */
  const filling = new Map<PlannedWeight, Uint8Array>();
  let bytesWritten = plan.steps.slice(0, state.done).reduce((sum, step) => sum + step.weights.reduce((s, w) => s + w.spec.byteLength, 0), 0);
  for (let i = state.done; i < plan.steps.length; i++) {
    options.signal?.throwIfAborted();
    const step = plan.steps[i];
    bytesWritten += await convertStep(step, tensors.get(step.source)!, sinks, filling, options.blockBytes ?? 64 * 1024 ** 2, options.signal);
    for (const sink of sinks.values()) await sink.flush();
    state.done = i + 1;
    for (const [dtype, sink] of sinks) state.external[dtype] = sink.snapshot();
    if (filling.size === 0) await saveCheckpoint(state);
    options.onProgress?.({ kind: 'tensor', name: step.source, done: state.done, total: state.total, bytesWritten });
  }

  const manifest = [...state.files];
  const externalChunks: Record<string, number> = {};
  for (const dtype of dtypes) {
    const chunks = await sinks.get(dtype)!.finish();
    manifest.push(...chunks);
    externalChunks[graphFileName(dtype)] = chunks.length;
    const graph = plan.graphs.get(dtype)!;
    await emit(manifest, `onnx/${graphFileName(dtype)}`, encodeModel({ graph, opsets: GRAPH_OPSETS }));
  }
  const jsConfig = (config['transformers.js_config'] as Record<string, unknown> | undefined) ?? {};
  await emit(manifest, 'config.json', json({ ...config, 'transformers.js_config': { ...jsConfig, use_external_data_format: externalChunks } }));
  await writer.writeFile(MANIFEST_FILE, json({ format: 1, files: manifest }));
  return manifest;
}

/**
 * Reads one checkpoint tensor block by block and writes every weight made from it. Per dtype the
 * first weight is written as blocks arrive; the others (q4 scales and zero points, a tied head)
 * are collected and written after it, in layout order. q8 weights are filled in `filling` and
 * written, in layout order, at the step of their last part. Returns the bytes written.
 */
async function convertStep(
  step: ConversionStep,
  entry: { source: ByteSource; info: TensorInfo },
  sinks: Map<ConvertDtype, ExternalDataSink>,
  filling: Map<PlannedWeight, Uint8Array>,
  blockBytes: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { rows, cols } = sourceMatrix(step);
  const whole = step.weights.some((w) => needsWholeTensor(w.spec.encoding));
  const rowsPerBlock = whole ? rows : Math.max(1, Math.min(rows, Math.floor(blockBytes / (cols * 4))));
  const streamed = new Set(step.weights.filter((w, i) => !isQ8(w.spec.encoding) && (i === 0 || step.weights[i - 1].dtype !== w.dtype)));
  // Held weights with the same encoding have the same bytes (q4 and q4f16 share nibbles and zero
  // points): one buffer each.
  const buffers = new Map<string, Uint8Array>();
  const held = new Map(
    step.weights
      .filter((w) => !streamed.has(w) && !isQ8(w.spec.encoding))
      .map((w) => {
        const key = JSON.stringify(w.spec.encoding);
        if (!buffers.has(key)) buffers.set(key, new Uint8Array(w.spec.byteLength));
        return [w, buffers.get(key)!];
      }),
  );
  for (let first = 0; first < rows; first += rowsPerBlock) {
    signal?.throwIfAborted();
    const count = Math.min(rowsPerBlock, rows - first);
    const block = new RowBlock(await readTensorElementsAsFloat32(entry.source, entry.info, first * cols, count * cols), first, count, cols);
    const filled = new Set<Uint8Array>();
    for (const weight of step.weights) {
      const buffer = held.get(weight);
      if ((buffer && filled.has(buffer)) || isQ8(weight.spec.encoding)) continue;
      const bytes = encodeWeightRows(weight.spec, block);
      const at = first === 0 ? 0 : first * bytesPerSourceRow(weight.spec);
      if (buffer) {
        buffer.set(bytes, at);
        filled.add(buffer);
      } else {
        await sinks.get(weight.dtype)!.write(weight.target, at, bytes);
      }
    }
    for (const { weight, part } of step.fills) {
      if (!filling.has(weight)) filling.set(weight, new Uint8Array(weight.spec.byteLength));
      fillQ8Columns(weight.spec, part, block, filling.get(weight)!);
    }
  }
  for (const weight of step.weights) {
    if (streamed.has(weight)) continue;
    const bytes = held.get(weight) ?? filling.get(weight);
    if (!bytes) throw new Error(`${weight.spec.name}: nothing was made for it.`);
    filling.delete(weight);
    await sinks.get(weight.dtype)!.write(weight.target, 0, bytes);
  }
  return step.weights.reduce((sum, w) => sum + w.spec.byteLength, 0);
}
