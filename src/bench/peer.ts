/**
 * The peer: wllama (llama.cpp compiled to WebAssembly) on the same synthetic weights as a GGUF
 * file (src/converter/gguf.ts). Self-hosted: the worker code is inlined in wllama's bundle and its
 * one wasm is a bench asset, nothing comes from a CDN. Facts this relies on: docs/gguf.md.
 */
import { LoggerWithoutDebug, Wllama } from '@wllama/wllama';
import wllamaWasm from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import type { PeerCompletion, PeerLoadOptions, PeerLoadSample } from './bench-api.ts';
import { settleAfterWorkerEnd, withMemoryPeak } from './memory.ts';

let wllama: Wllama | null = null;
/** Native log lines that mention the GPU backend (how wllama says whether it got an adapter). */
let gpuLog: string[] = [];

const logger = {
  ...LoggerWithoutDebug,
  log: (...args: unknown[]) => {
    const line = args.map(String).join(' ');
    if (/webgpu/i.test(line)) gpuLog.push(line);
  },
  warn: (...args: unknown[]) => {
    const line = args.map(String).join(' ');
    if (/webgpu/i.test(line)) gpuLog.push(line);
  },
};

export async function peerLoad(options: PeerLoadOptions): Promise<PeerLoadSample> {
  await peerExit();
  gpuLog = [];
  const instance = new Wllama({ default: new URL(wllamaWasm, document.baseURI).href }, { logger });
  const { ms, memory } = await withMemoryPeak(options.memorySampleMs, () =>
    // wllama's own cache (OPFS): the first load downloads into it, later loads read it.
    instance.loadModelFromUrl(options.url, { ...options.params, useCache: true }),
  );
  wllama = instance;
  const askedForGpu = options.params.n_gpu_layers !== 0;
  return {
    ms,
    threads: instance.getNumThreads(),
    multithread: instance.isMultithread(),
    libllama: Wllama.getLibllamaVersion(),
    gpu: askedForGpu && gpuLog.length > 0 && !gpuLog.some((l) => /fail/i.test(l)),
    memory,
  };
}

interface Chunk {
  choices: { text: string }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  timings?: PeerCompletion['timings'];
}

/**
 * Greedy, streamed. wllama 3.13 fails to serialize output that is not valid UTF-8 (random weights
 * produce such byte sequences), which ends the request with an error while the worker survives;
 * such a request is retried up to twice with one token fewer to ask for (then given up), and the
 * failures are reported with the result.
 */
export async function peerComplete(options: { prompt: string; maxTokens: number; cachePrompt: boolean }): Promise<PeerCompletion> {
  if (!wllama) throw new Error('wllama has no model loaded');
  const failedAttempts: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const maxTokens = Math.max(1, options.maxTokens - attempt);
    const started = performance.now();
    let firstChunkMs: number | null = null;
    let last: Chunk | null = null;
    try {
      await wllama.createCompletion({
        prompt: options.prompt,
        max_tokens: maxTokens,
        temp: 0,
        temperature: 0,
        top_k: 1,
        penalty_repeat: 1,
        ignore_eos: true,
        cache_prompt: options.cachePrompt,
        stream: true,
        onData: (chunk: Chunk) => {
          firstChunkMs ??= performance.now() - started;
          last = chunk;
        },
      } as unknown as Parameters<Wllama['createCompletion']>[0] & { stream: true; onData: (c: unknown) => void });
    } catch (error) {
      failedAttempts.push(String(error).slice(0, 200));
      if (attempt === 2) throw new Error(`wllama failed ${attempt + 1} times: ${failedAttempts.join(' | ')}`, { cause: error });
      continue;
    }
    const final = last as Chunk | null;
    if (!final?.timings || !final.usage) throw new Error('wllama sent no timings/usage in its last chunk');
    return {
      firstChunkMs,
      wallMs: performance.now() - started,
      promptTokens: final.usage.prompt_tokens,
      completionTokens: final.usage.completion_tokens,
      timings: final.timings,
      failedAttempts,
    };
  }
}

export async function peerExit(): Promise<void> {
  const running = wllama;
  wllama = null;
  if (!running) return;
  await running.exit();
  await settleAfterWorkerEnd();
}
