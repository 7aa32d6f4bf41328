/**
 * The generation loop, run by the engine on the ONNX session itself (not transformers.js's
 * generate): one prefill run over the prompt's new tokens, then one run per token, each feeding
 * the KV cache in place (kv-cache.ts). Greedy decoding on WebGPU picks the token on the GPU
 * (gpu-argmax.ts, a 4-byte readback); otherwise the logits row is read back and the token chosen
 * with Hugging Face's processors (src/model/sampling.ts). Between runs the loop yields a task on
 * WASM (whose runs settle in microtasks only), so a `stop` message gets in; stopping leaves the
 * cache consistent: it holds every token that was fed.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { applyRepetitionPenalty, chooseToken, type SamplingChoice } from '../model/sampling.ts';
import type { DecoderIo } from './decoder-io.ts';
import { countsBetween, gpuCallCounts } from './gpu-counters.ts';
import type { GpuCallCounts } from './protocol.ts';
import type { GpuArgmax } from './gpu-argmax.ts';
import type { GpuStepInputs } from './gpu-step-inputs.ts';
import type { Feeds, Fetches, KvCache } from './kv-cache.ts';
import { nextTask } from './next-task.ts';
import { float16BitsToFloat32 } from '../lib/float16.ts';
import { ort } from './ort-runtime.ts';

export interface DecodeOptions extends SamplingChoice {
  repetitionPenalty: number;
  maxNewTokens: number;
  eosIds: readonly number[];
  /** Polled between runs: true ends the reply after the tokens chosen so far. */
  stopped(): boolean;
  /** Each chosen token, as soon as it is known. */
  onToken(id: number): void;
  /** A number in [0, 1) for sampling (Math.random by default). */
  uniform?: () => number;
}

export interface DecodeResult {
  /** The chosen tokens (an end-of-turn token included when it ended the reply). */
  tokens: number[];
  finishReason: 'eos' | 'length' | 'stop';
  /** performance.now() when the first token was chosen (null when none was). */
  firstTokenAt: number | null;
  /** When WebGPU calls are counted: those of the steps after the first token. */
  decodeCalls?: { steps: number; calls: GpuCallCounts };
}

export interface DecoderSession {
  session: InferenceSession;
  io: DecoderIo;
  cache: KvCache;
  /** Set on WebGPU when greedy tokens can be picked on the GPU. */
  gpuArgmax: GpuArgmax | null;
  /** WASM: yield to the event loop before each run. */
  yieldBetweenRuns: boolean;
  /** WebGPU: a single-token run's token and position, fed from the engine's own GPU buffers. */
  stepInputs?: GpuStepInputs | null;
}

const int64 = (values: ArrayLike<number>, dims: number[]) => new (ort().Tensor)('int64', BigInt64Array.from(Array.from(values, BigInt)), dims);

/** The inputs of one run over `ids` at positions cache.length …; the cache's own bindings added. */
function runInputs(d: DecoderSession, ids: readonly number[]): { feeds: Feeds; fetches: Fetches } {
  const past = d.cache.length;
  const total = past + ids.length;
  const onGpu = ids.length === 1 && d.stepInputs ? d.stepInputs : null;
  onGpu?.write(ids[0]);
  const feeds: Feeds = { input_ids: onGpu?.inputIds ?? int64(ids, [1, ids.length]) };
  if (d.io.hasAttentionMask) feeds.attention_mask = new (ort().Tensor)('int64', new BigInt64Array(total).fill(1n), [1, total]);
  if (d.io.hasPositionIds)
    feeds.position_ids = int64(
      Array.from(ids, (_, i) => past + i),
      [1, ids.length],
    );
  if (d.io.hasNumLogitsToKeep) feeds.num_logits_to_keep = new (ort().Tensor)('int64', BigInt64Array.from([1n]), []);
  const fetches: Fetches = { logits: null };
  d.cache.bind(feeds, fetches);
  return { feeds, fetches };
}

/** The last position's logits as a fresh Float32Array (downloaded from the GPU when they are there). */
async function lastRow(logits: Tensor): Promise<Float32Array> {
  const vocab = logits.dims[logits.dims.length - 1];
  const data = (logits.location === 'cpu' ? logits.data : await logits.getData(true)) as Float32Array | Uint16Array;
  if (logits.location !== 'cpu') logits.dispose();
  const start = data.length - vocab;
  if (data instanceof Float32Array) return data.slice(start);
  return Float32Array.from(data.subarray(start), float16BitsToFloat32);
}

/** One run over `ids` (extending the cache); resolves with the next token. */
async function step(d: DecoderSession, ids: readonly number[], context: readonly number[], options: DecodeOptions): Promise<number> {
  if (d.yieldBetweenRuns) await nextTask();
  const greedyOnGpu = d.gpuArgmax !== null && !(options.temperature > 0) && options.repetitionPenalty === 1;
  d.cache.reserve(d.cache.length + ids.length);
  const { feeds, fetches } = runInputs(d, ids);
  if (greedyOnGpu) fetches.logits = d.gpuArgmax!.logits;
  const outputs = await d.session.run(feeds, fetches);
  d.cache.commit(outputs, ids.length);
  if (greedyOnGpu) return d.gpuArgmax!.argmax();
  const logits = applyRepetitionPenalty(await lastRow(outputs.logits), context, options.repetitionPenalty);
  return chooseToken(logits, options, options.uniform ?? Math.random);
}

/**
 * Generates after `prompt` (the ids the cache does not hold yet; `context` is every id of the
 * conversation so far, for the repetition penalty). Stops at an end-of-turn token, at
 * maxNewTokens, or when `stopped()` says so.
 */
export async function decode(d: DecoderSession, prompt: readonly number[], context: readonly number[], options: DecodeOptions): Promise<DecodeResult> {
  const tokens: number[] = [];
  const seen = [...context];
  let firstTokenAt: number | null = null;
  let afterFirst: GpuCallCounts | null = null;
  const done = (finishReason: DecodeResult['finishReason']): DecodeResult => {
    const now = gpuCallCounts();
    const decodeCalls = afterFirst && now ? { steps: tokens.length - 1, calls: countsBetween(afterFirst, now) } : undefined;
    return { tokens, finishReason, firstTokenAt, ...(decodeCalls ? { decodeCalls } : {}) };
  };
  let next = prompt;
  for (;;) {
    if (options.stopped()) return done('stop');
    const token = await step(d, next, seen, options);
    if (firstTokenAt === null) {
      firstTokenAt = performance.now();
      afterFirst = gpuCallCounts();
    }
    tokens.push(token);
    seen.push(token);
    options.onToken(token);
    if (options.eosIds.includes(token)) return done('eos');
    if (tokens.length >= options.maxNewTokens) return done('length');
    next = [token];
  }
}
