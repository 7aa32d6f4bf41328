/**
 * The converter core: a Hugging Face Llama checkpoint → a transformers.js model folder
 * (docs/model-format.md). Plain TypeScript over byte sources and output streams, with no Node or
 * DOM API, so the same code runs in the Node CLI and in a browser worker. Streams tensor by
 * tensor: each is read, converted, written to external data and dropped.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { resolveLlamaShape, UnsupportedModelError, type HfLlamaConfig } from '../model/config.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { buildLlamaGraph, type GraphDtype } from './llama-graph.ts';
import { encodeModel, type Tensor } from './onnx-proto.ts';
import { readSafetensorsHeader, readTensorAsFloat32, type ByteSource, type TensorInfo } from './safetensors.ts';

export type ConvertDtype = GraphDtype;
export const SUPPORTED_DTYPES: readonly ConvertDtype[] = ['fp32', 'fp16', 'q4', 'q4f16'];
const FILE_SUFFIX: Record<ConvertDtype, string> = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16' };

export interface CheckpointReader {
  /** A small file's bytes, or null when absent. */
  readFile(name: string): Promise<Uint8Array | null>;
  /** A random-access view of a large file, or null when absent. */
  openFile(name: string): Promise<ByteSource | null>;
  /** Releases what openFile opened; called once the conversion ends. */
  close?(): Promise<void>;
}

export interface OutputStream {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface ModelWriter {
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  openOutput(path: string): Promise<OutputStream>;
}

export type ConversionProgress =
  | { kind: 'dtype-start'; dtype: ConvertDtype }
  | { kind: 'tensor'; dtype: ConvertDtype; name: string; done: number; total: number; bytesWritten: number }
  | { kind: 'file'; path: string; size: number };

export interface ConvertOptions {
  dtypes: ConvertDtype[];
  onProgress?: (event: ConversionProgress) => void;
  /** External data is split into files of at most this many bytes (a tensor never spans two). */
  maxExternalChunkBytes?: number;
}

export class ConversionError extends Error {
  constructor(
    readonly code: 'missing-file' | 'invalid-file' | 'bad-dtype' | 'missing-tensor',
    message: string,
  ) {
    super(message);
    this.name = 'ConversionError';
  }
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
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

/** Where every tensor lives: one safetensors file or the shards of an index. */
export async function indexTensors(reader: CheckpointReader): Promise<Map<string, { source: ByteSource; info: TensorInfo }>> {
  const indexBytes = await reader.readFile('model.safetensors.index.json');
  const shardNames = indexBytes
    ? [...new Set(Object.values(parseJson<{ weight_map: Record<string, string> }>(indexBytes, 'model.safetensors.index.json').weight_map))]
    : ['model.safetensors'];
  const tensors = new Map<string, { source: ByteSource; info: TensorInfo }>();
  for (const shard of shardNames) {
    const source = await reader.openFile(shard);
    if (!source) throw new ConversionError('missing-file', `Checkpoint file ${shard} is missing (expected model.safetensors or the shards of model.safetensors.index.json).`);
    for (const [name, info] of await readSafetensorsHeader(source)) tensors.set(name, { source, info });
  }
  return tensors;
}

/** Hashes what passes through a stream, and splits external data into chunk files. */
class ExternalDataWriter {
  private stream: OutputStream | null = null;
  private offset = 0;
  private hasher = sha256.create();
  readonly files: ManifestFile[] = [];

  constructor(
    private readonly writer: ModelWriter,
    private readonly baseName: string,
    private readonly maxChunkBytes: number,
  ) {}

  get chunkCount(): number {
    return this.files.length + (this.stream ? 1 : 0);
  }

  private chunkName(index: number): string {
    return `${this.baseName}_data${index === 0 ? '' : `_${index}`}`;
  }

  async add(name: string, dataType: Tensor['dataType'], dims: number[], bytes: Uint8Array): Promise<Tensor> {
    if (this.stream && this.offset > 0 && this.offset + bytes.length > this.maxChunkBytes) await this.finishChunk();
    if (!this.stream) this.stream = await this.writer.openOutput(`onnx/${this.chunkName(this.files.length)}`);
    const location = this.chunkName(this.files.length);
    const offset = this.offset;
    await this.stream.write(bytes);
    this.hasher.update(bytes);
    this.offset += bytes.length;
    return { name, dataType, dims, data: { location, offset, length: bytes.length } };
  }

  async finishChunk(): Promise<void> {
    if (!this.stream) return;
    await this.stream.close();
    this.files.push({ path: `onnx/${this.chunkName(this.files.length)}`, size: this.offset, sha256: bytesToHex(this.hasher.digest()) });
    this.stream = null;
    this.offset = 0;
    this.hasher = sha256.create();
  }
}

export async function convertCheckpoint(reader: CheckpointReader, writer: ModelWriter, options: ConvertOptions): Promise<ManifestFile[]> {
  try {
    return await convertOpenCheckpoint(reader, writer, options);
  } finally {
    await reader.close?.();
  }
}

async function convertOpenCheckpoint(reader: CheckpointReader, writer: ModelWriter, options: ConvertOptions): Promise<ManifestFile[]> {
  for (const dtype of options.dtypes) {
    if (!SUPPORTED_DTYPES.includes(dtype)) {
      throw new ConversionError('bad-dtype', `Unsupported dtype "${dtype}" (supported: ${SUPPORTED_DTYPES.join(', ')}).`);
    }
  }
  const configBytes = await reader.readFile('config.json');
  if (!configBytes) throw new ConversionError('missing-file', 'config.json is missing: not a Hugging Face checkpoint folder.');
  const config = parseJson<HfLlamaConfig>(configBytes, 'config.json');
  const shape = resolveLlamaShape(config);
  const rope = computeRopeParameters(config);
  if (config.torch_dtype && !['bfloat16', 'float16', 'float32'].includes(config.torch_dtype)) {
    throw new UnsupportedModelError(`Unsupported torch_dtype "${config.torch_dtype}" (bf16, fp16 or fp32 checkpoints only).`);
  }

  const manifest: ManifestFile[] = [];
  const emit = async (path: string, bytes: Uint8Array) => {
    await writer.writeFile(path, bytes);
    manifest.push({ path, size: bytes.length, sha256: bytesToHex(sha256(bytes)) });
    options.onProgress?.({ kind: 'file', path, size: bytes.length });
  };

  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    const bytes = await reader.readFile(name);
    if (!bytes) throw new ConversionError('missing-file', `${name} is missing: the converted model needs the checkpoint's tokenizer.`);
    await emit(name, bytes);
  }
  const specialTokens = await reader.readFile('special_tokens_map.json');
  if (specialTokens) await emit('special_tokens_map.json', specialTokens);
  const generation = await reader.readFile('generation_config.json');
  await emit('generation_config.json', generation ?? json({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }));

  const tensors = await indexTensors(reader);
  const loadWeight = async (name: string) => {
    const entry = tensors.get(name);
    if (!entry) throw new ConversionError('missing-tensor', `Tensor ${name} is missing from the checkpoint.`);
    return readTensorAsFloat32(entry.source, entry.info);
  };

  const externalChunks: Record<string, number> = {};
  for (const dtype of options.dtypes) {
    options.onProgress?.({ kind: 'dtype-start', dtype });
    const baseName = `model${FILE_SUFFIX[dtype]}.onnx`;
    const external = new ExternalDataWriter(writer, baseName, options.maxExternalChunkBytes ?? 1024 ** 3);
    const total = tensors.size;
    let done = 0;
    let bytesWritten = 0;
    const graph = await buildLlamaGraph(
      shape,
      rope,
      dtype,
      async (name) => {
        const weight = await loadWeight(name);
        options.onProgress?.({ kind: 'tensor', dtype, name, done: ++done, total, bytesWritten });
        return weight;
      },
      (name, dataType, dims, bytes) => {
        bytesWritten += bytes.length;
        return external.add(name, dataType, dims, bytes);
      },
    );
    await external.finishChunk();
    manifest.push(...external.files);
    externalChunks[baseName] = external.files.length;
    await emit(`onnx/${baseName}`, encodeModel({ graph, opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }] }));
  }

  const jsConfig = (config['transformers.js_config'] as Record<string, unknown> | undefined) ?? {};
  await emit('config.json', json({ ...config, 'transformers.js_config': { ...jsConfig, use_external_data_format: externalChunks } }));
  await writer.writeFile(MANIFEST_FILE, json({ format: 1, files: manifest }));
  return manifest;
}
