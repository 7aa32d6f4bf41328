/**
 * The KV cache of the loaded model, one per engine, kept across turns.
 *
 * - InPlaceGpuKvCache (WebGPU, GroupQueryAttention graphs): one GPUBuffer per layer for keys and
 *   one for values, [1, kv heads, capacity, head size], fed as `past_key_values.N.*` and fetched
 *   as `present.N.*` — the same buffer, so GroupQueryAttention writes only the new tokens' rows and
 *   attends over the valid ones (seqlens_k + 1, from the attention mask): nothing is copied per
 *   token, nothing allocated. The capacity is decided before a run and grows in large steps (a
 *   copy of the valid rows, once), so a short chat does not reserve the whole window.
 * - GrowingKvCache (WASM, or graphs with plain attention): the `present` outputs of a run are the
 *   next run's `past` inputs, as transformers.js does. On WASM, ONNX Runtime Web copies every
 *   input into its heap and every output out of it on each run; its public API offers no way to
 *   keep a tensor in the heap, so this cache costs a copy proportional to the context per token.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { ort } from './ort-runtime.ts';
import type { DecoderIo } from './decoder-io.ts';

export type Feeds = Record<string, Tensor>;
export type Fetches = Record<string, Tensor | null>;

export interface KvCache {
  readonly location: 'gpu-buffer' | 'cpu';
  /** Tokens whose keys and values the cache holds. */
  readonly length: number;
  /** Tokens it can hold without growing (Infinity for a growing cache). */
  readonly capacity: number;
  /** Makes room for `tokens` in all (before a run; may copy the valid rows into larger buffers). */
  reserve(tokens: number): void;
  /** Forgets every token past `tokens` (0: an empty cache; its memory is kept for the next turn). */
  truncate(tokens: number): void;
  /** Adds the cache's inputs to a run's feeds and its outputs to the run's fetches. */
  bind(feeds: Feeds, fetches: Fetches): void;
  /** After a run that added `tokens`: takes its outputs as the cache. */
  commit(outputs: InferenceSession.ReturnType, tokens: number): void;
  /** Releases the cache's memory (GPU buffers or tensors). */
  dispose(): void;
}

const elementBytes = (io: DecoderIo) => (io.kvType === 'float16' ? 2 : 4);

/** Capacity for `tokens`: at least double the old one and whole steps of `step` tokens, within `max`. */
export function grownCapacity(current: number, tokens: number, max: number, step = 512): number {
  const wanted = Math.max(tokens, current * 2, step);
  return Math.min(max, Math.ceil(wanted / step) * step);
}

export class InPlaceGpuKvCache implements KvCache {
  readonly location = 'gpu-buffer';
  length = 0;
  capacity = 0;
  private keys: GPUBuffer[] = [];
  private values: GPUBuffer[] = [];
  private keyTensors: Tensor[] = [];
  private valueTensors: Tensor[] = [];

  constructor(
    private readonly io: DecoderIo,
    private readonly device: GPUDevice,
    /** The most tokens it may ever hold (the context window). */
    private readonly maxTokens: number,
    private readonly step = 512,
  ) {}

  reserve(tokens: number): void {
    if (tokens > this.maxTokens) throw new RangeError(`${tokens} tokens do not fit the ${this.maxTokens}-token window.`);
    if (tokens <= this.capacity) return;
    const capacity = grownCapacity(this.capacity, tokens, this.maxTokens, this.step);
    const { io } = this;
    const rowBytes = io.headDim * elementBytes(io);
    const make = (label: string) =>
      this.device.createBuffer({
        label,
        size: io.kvHeads * capacity * rowBytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    const keys = io.pastKey.map((_, i) => make(`kv.${i}.key`));
    const values = io.pastKey.map((_, i) => make(`kv.${i}.value`));
    if (this.length > 0) {
      // The valid rows of each head move to the start of that head's region in the new layout.
      const encoder = this.device.createCommandEncoder({ label: 'kv-grow' });
      for (let layer = 0; layer < io.layers; layer++) {
        for (let head = 0; head < io.kvHeads; head++) {
          const from = head * this.capacity * rowBytes;
          const to = head * capacity * rowBytes;
          encoder.copyBufferToBuffer(this.keys[layer], from, keys[layer], to, this.length * rowBytes);
          encoder.copyBufferToBuffer(this.values[layer], from, values[layer], to, this.length * rowBytes);
        }
      }
      this.device.queue.submit([encoder.finish()]);
    }
    this.release();
    this.keys = keys;
    this.values = values;
    this.capacity = capacity;
    const dims = [1, io.kvHeads, capacity, io.headDim];
    const wrap = (buffer: GPUBuffer) => ort().Tensor.fromGpuBuffer(buffer, { dataType: io.kvType, dims });
    this.keyTensors = keys.map(wrap);
    this.valueTensors = values.map(wrap);
  }

  truncate(tokens: number): void {
    this.length = Math.min(this.length, Math.max(0, tokens));
  }

  bind(feeds: Feeds, fetches: Fetches): void {
    const { io } = this;
    for (let i = 0; i < io.layers; i++) {
      feeds[io.pastKey[i]] = this.keyTensors[i];
      feeds[io.pastValue[i]] = this.valueTensors[i];
      fetches[io.presentKey[i]] = this.keyTensors[i];
      fetches[io.presentValue[i]] = this.valueTensors[i];
    }
  }

  commit(_outputs: InferenceSession.ReturnType, tokens: number): void {
    this.length += tokens;
  }

  dispose(): void {
    this.release();
    this.keyTensors = [];
    this.valueTensors = [];
    this.capacity = 0;
    this.length = 0;
  }

  private release(): void {
    for (const buffer of [...this.keys, ...this.values]) buffer.destroy();
    this.keys = [];
    this.values = [];
  }
}

export class GrowingKvCache implements KvCache {
  readonly capacity = Number.POSITIVE_INFINITY;
  length = 0;
  private past: Tensor[] | null = null;

  constructor(
    private readonly io: DecoderIo,
    readonly location: 'gpu-buffer' | 'cpu',
  ) {}

  reserve(): void {}

  truncate(tokens: number): void {
    if (tokens >= this.length) return;
    // The tensors cannot be cut in place; only emptying is needed (KV reuse is all or nothing).
    if (tokens > 0) throw new RangeError('A growing KV cache can only be emptied.');
    this.dispose();
  }

  bind(feeds: Feeds, fetches: Fetches): void {
    const { io } = this;
    const empty = () => new (ort().Tensor)(io.kvType, io.kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0), [1, io.kvHeads, 0, io.headDim]);
    for (let i = 0; i < io.layers; i++) {
      feeds[io.pastKey[i]] = this.past?.[2 * i] ?? empty();
      feeds[io.pastValue[i]] = this.past?.[2 * i + 1] ?? empty();
      fetches[io.presentKey[i]] = null;
      fetches[io.presentValue[i]] = null;
    }
  }

  commit(outputs: InferenceSession.ReturnType, tokens: number): void {
    const { io } = this;
    const next: Tensor[] = [];
    for (let i = 0; i < io.layers; i++) next.push(outputs[io.presentKey[i]], outputs[io.presentValue[i]]);
    this.disposePast();
    this.past = next;
    this.length += tokens;
  }

  dispose(): void {
    this.disposePast();
    this.past = null;
    this.length = 0;
  }

  private disposePast(): void {
    // GPU tensors go back to ONNX Runtime's pool; CPU tensors are plain arrays (dispose is a no-op).
    for (const tensor of this.past ?? []) if (tensor.location === 'gpu-buffer') tensor.dispose();
  }
}
