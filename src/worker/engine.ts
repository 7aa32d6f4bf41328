/**
 * The LLM engine that runs inside the worker: the model's ONNX session (model-session.ts) on
 * WebGPU, or WASM on the CPU, driven by our own decode loop (decoder.ts); transformers.js provides
 * the tokenizer and its chat template.
 *
 * Lifecycle: load (adapter → files → session → warm-up) → generate* → unload. One generation at a
 * time; `stop` interrupts it between tokens and leaves a consistent KV cache. The page runs one
 * worker per loaded model (engine-client.ts): unloading ends the worker, and with it every byte of
 * memory the load took (WASM memory never shrinks otherwise).
 *
 * KV reuse across turns: the cache (kv-cache.ts) is kept with the token ids it covers. The next
 * prompt is built from the previous turn's own token ids when the rendered conversation merely
 * extends the previous one (so the model's own tokenization of its reply is reused, not a
 * re-tokenization that may differ), and the cache is used only if those ids are an exact prefix
 * (planKvReuse). Anything else (edit, regenerate, other system prompt) empties it.
 */
import type { InferenceSession } from 'onnxruntime-web';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { modelStore } from '../db/model-store.ts';
import { AppError } from '../lib/errors.ts';
import type { ModelDtype } from '../model/catalog.ts';
import { ContextBudgetError, type BudgetPlan } from '../model/context-budget.ts';
import { cpuThreadCount } from '../model/device-choice.ts';
import { generationStats, type SamplingParams } from '../model/generation.ts';
import { renderPrompt } from './chat-prompt.ts';
import type { ContextPatch } from './context-patch.ts';
import { decideContext, hasIds, PieceCounter, type ContextDecision } from './context-window.ts';
import { decode, type DecoderSession } from './decoder.ts';
import { createSession, openModelFiles, pickDevice, pickDtype, type DeviceChoice, type ModelFiles, type Session } from './engine-load.ts';
import { GpuArgmax } from './gpu-argmax.ts';
import { GpuStepInputs } from './gpu-step-inputs.ts';
import { countGpuCalls } from './gpu-counters.ts';
import { GrowingKvCache, InPlaceGpuKvCache } from './kv-cache.ts';
import { continuePromptIds, planKvReuse } from './kv-reuse.ts';
import { ort } from './ort-runtime.ts';
import type { ChatMessage, ContextCount, DeviceKind, FileProgress, GenerateResult, LoadResult, LoadSpec } from './protocol.ts';
import { TextDeltaStream } from './text-stream.ts';

export interface LoadCallbacks {
  onPhase(phase: 'adapter' | 'files' | 'session' | 'warm-up'): void;
  onProgress(progress: FileProgress): void;
  onDeviceLost(reason: string): void;
}

interface LoadedModel {
  modelId: string;
  session: InferenceSession;
  decoder: DecoderSession;
  tokenizer: PreTrainedTokenizer;
  device: DeviceKind;
  dtype: ModelDtype;
  gpuDevice: GPUDevice | null;
  /** The window the budget plans with: the chosen context length. */
  contextWindow: number;
  /** Token counts of prompt pieces with this model's tokenizer (context-window.ts). */
  counter: PieceCounter;
  eosIds: number[];
}

/** The previous turn: its prompt text, reply text, and the token ids the cache holds. */
interface TurnCache {
  promptText: string;
  replyText: string;
  /** Prompt ids followed by the reply's own ids (without the end-of-turn token). */
  ids: number[];
  /** Token ids the cache covers (ids minus the last sampled token, which was never fed). */
  cachedIds: number[];
}

const now = () => performance.now();

/**
 * ONNX Runtime's threads on the CPU when a load does not ask for a number: the cores, where this
 * worker is cross-origin isolated (cpuThreadCount). An earlier session kept one thread after a
 * multi-threaded load in a fresh worker, after the previous worker and its thread pool were
 * terminated, stalled once (pwa.spec's WebGPU-then-WASM loads); rerun on 2026-12-05 with the
 * threads on (pwa.spec 4 times over, 2 and 8 emulated cores, every load a fresh worker), none
 * stalled. The bench's LoadSpec.threads still sets the count to match its peer's.
 */
export function defaultThreads(): number {
  return cpuThreadCount(navigator.hardwareConcurrency, self.crossOriginIsolated);
}

function eosIdsOf(generationConfig: Record<string, unknown>, config: Record<string, unknown>): number[] {
  const eos = generationConfig.eos_token_id ?? config.eos_token_id;
  return Array.isArray(eos) ? eos.map(Number) : eos === undefined || eos === null ? [] : [Number(eos)];
}

export class LlmEngine {
  private loaded: LoadedModel | null = null;
  private turn: TurnCache | null = null;
  /** The last reply's context plan: where its kept history started (planContext's sticky start). */
  private contextPlan: BudgetPlan | null = null;
  private generation: { id: string; stopRequested: boolean; done: Promise<unknown> } | null = null;

  async load(spec: LoadSpec, callbacks: LoadCallbacks): Promise<LoadResult> {
    const started = now();
    await this.unload();

    callbacks.onPhase('adapter');
    if (spec.countGpuCalls) countGpuCalls();
    const choice = await pickDevice(spec);
    const adapterMs = now() - started;
    const { gpuDevice } = choice;
    let lost = false;
    if (gpuDevice) {
      void gpuDevice.lost.then((info) => {
        lost = true;
        // A deliberate destroy() from unload is not an accident worth reporting.
        if (info.reason !== 'destroyed' || this.loaded?.gpuDevice === gpuDevice) callbacks.onDeviceLost(info.message || info.reason);
      });
    }
    // Before the first session of this worker (the page gives every load a fresh worker). A WebGPU
    // session runs its few CPU ops on one thread: a pool would only hold Workers and their stacks.
    const threads = spec.threads ?? (choice.device === 'wasm' ? defaultThreads() : 1);
    ort().env.wasm.numThreads = threads;
    let files: ModelFiles | null = null;
    try {
      const dtype = pickDtype(spec, choice);
      callbacks.onPhase('files');
      const filesStarted = now();
      files = await openModelFiles(spec, dtype, gpuDevice);
      const filesMs = now() - filesStarted;
      const session = await createSession(files, choice, dtype, callbacks.onProgress);
      files.doneReading();
      if (files.stored) void modelStore.touchModel(spec.modelId, dtype).catch(() => undefined);
      callbacks.onPhase('session');
      const window = await this.adopt(spec, session, choice, dtype, files.context);
      callbacks.onPhase('warm-up');
      const warmUpStarted = now();
      await this.warmUp();
      const warmUpMs = now() - warmUpStarted;
      if (lost) throw new AppError('device-lost', 'The GPU device was lost while loading.');
      return {
        modelId: spec.modelId,
        device: choice.device,
        dtype,
        ...(choice.device === 'wasm'
          ? { fallbackReason: choice.fallbackReason, ...(choice.softwareAdapter !== undefined ? { softwareAdapter: choice.softwareAdapter } : {}) }
          : { adapter: choice.adapter }),
        contextWindow: window.contextWindow,
        nativeContext: window.nativeContext,
        ...(files.context?.extension ? { contextExtension: files.context.extension } : {}),
        generationConfig: JSON.parse(JSON.stringify(session.generationConfig)) as Record<string, unknown>,
        loadMs: now() - started,
        phasesMs: {
          adapter: adapterMs,
          files: filesMs,
          tokenizer: session.tokenizerMs,
          session: session.sessionMs,
          verify: session.verifyMs,
          warmUp: warmUpMs,
        },
        threads,
      };
    } catch (error) {
      await this.unload();
      gpuDevice?.destroy();
      throw files?.stored ? files.stored.explain(error) : error;
    } finally {
      files?.close();
    }
  }

  /** Makes a created session the loaded model, with the window its budget plans with and its KV cache. */
  private async adopt(
    spec: LoadSpec,
    session: Session,
    choice: DeviceChoice,
    dtype: ModelDtype,
    context: ContextPatch | null,
  ): Promise<{ contextWindow: number; nativeContext: number }> {
    const { tokenizer, config, io } = session;
    const declared = Number(config.max_position_embeddings);
    const nativeContext = context?.nativeContext ?? (declared > 0 ? declared : 2048);
    const contextWindow = context?.window ?? spec.contextLength ?? nativeContext;
    if (!context && contextWindow > nativeContext) {
      throw new AppError('context-unsupported', 'The Cache API baseline loads the files unchanged: no context past the native window.', {
        native: nativeContext,
        requested: contextWindow,
        reason: 'cache-api',
      });
    }
    const { gpuDevice } = choice;
    const cache = gpuDevice && io.inPlaceKv ? new InPlaceGpuKvCache(io, gpuDevice, contextWindow) : new GrowingKvCache(io, gpuDevice ? 'gpu-buffer' : 'cpu');
    const logits = session.session.outputMetadata.find((m) => m.name === 'logits');
    const vocab = logits?.isTensor ? logits.shape[logits.shape.length - 1] : undefined;
    // Greedy tokens are picked on the GPU where the logits are float32 (every graph but fp16's).
    const gpuArgmax = gpuDevice && logits?.isTensor && logits.type === 'float32' && typeof vocab === 'number' ? await GpuArgmax.create(gpuDevice, vocab) : null;
    this.loaded = {
      modelId: spec.modelId,
      session: session.session,
      decoder: { session: session.session, io, cache, gpuArgmax, yieldBetweenRuns: !gpuDevice, stepInputs: gpuDevice ? new GpuStepInputs(gpuDevice) : null },
      tokenizer,
      device: choice.device,
      dtype,
      gpuDevice,
      contextWindow,
      counter: new PieceCounter((text) => tokenizer.encode(text, { add_special_tokens: false })),
      eosIds: eosIdsOf(session.generationConfig, config),
    };
    return { contextWindow, nativeContext };
  }

  /**
   * A short prefill and one decode step, so shaders compile and buffers are allocated while
   * loading, not in the user's first reply; the cache is then emptied.
   */
  private async warmUp(): Promise<void> {
    const { tokenizer, decoder } = this.requireLoaded();
    const ids = tokenizer.encode('hi', { add_special_tokens: true });
    await decode(decoder, ids, ids, {
      temperature: 0,
      topK: 0,
      topP: 1,
      repetitionPenalty: 1,
      maxNewTokens: 2,
      eosIds: [],
      stopped: () => false,
      onToken: () => {},
    });
    decoder.cache.truncate(0);
  }

  async generate(
    id: string,
    messages: ChatMessage[],
    sampling: SamplingParams,
    continueFinal: boolean,
    onDelta: (delta: string, generatedTokens: number) => void,
    onPromptReady: (promptTokens: number) => void = () => {},
  ): Promise<GenerateResult> {
    const loaded = this.requireLoaded();
    if (this.generation) throw new AppError('busy', 'A reply is already being generated.');
    let finish!: () => void;
    const generation = { id, stopRequested: false, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.generation = generation;
    try {
      return await this.runGeneration(loaded, messages, sampling, continueFinal, () => generation.stopRequested, onDelta, onPromptReady);
    } finally {
      this.generation = null;
      finish();
    }
  }

  private async runGeneration(
    loaded: LoadedModel,
    messages: ChatMessage[],
    sampling: SamplingParams,
    continueFinal: boolean,
    stopped: () => boolean,
    onDelta: (delta: string, generatedTokens: number) => void,
    onPromptReady: (promptTokens: number) => void,
  ): Promise<GenerateResult> {
    const { tokenizer, decoder } = loaded;
    const { cache } = decoder;
    const started = now();
    // Whole oldest turns are left out when the conversation outgrows the window; the KV cache
    // follows on its own (below: it is reused only on an exact token prefix).
    const decision = this.decide(loaded, messages, continueFinal, sampling.maxNewTokens);
    this.contextPlan = hasIds(messages) ? decision.plan : null;
    const text = renderPrompt(tokenizer, decision.kept, continueFinal);
    const encode = (s: string) => tokenizer.encode(s, { add_special_tokens: false });
    const promptIds = continuePromptIds(this.turn, text, encode);
    onPromptReady(promptIds.length);

    const window = loaded.contextWindow;
    if (promptIds.length >= window) {
      throw new AppError('context-overflow', `The prompt has ${promptIds.length} tokens; the window is ${window}.`, { tokens: promptIds.length, window });
    }
    const maxNewTokens = Math.max(1, Math.min(sampling.maxNewTokens, window - promptIds.length));

    const plan = planKvReuse(this.turn?.cachedIds ?? null, promptIds);
    const reusedTokens = plan.reuse ? plan.reusedTokens : 0;
    cache.truncate(reusedTokens);
    this.turn = null; // until this generation completes, no cache is trustworthy
    // Room for the whole turn up front: the cache never grows in the middle of a reply.
    cache.reserve(promptIds.length + maxNewTokens - 1);

    const stream = new TextDeltaStream((ids) => tokenizer.decode(ids, { skip_special_tokens: true }));
    let result;
    try {
      result = await decode(decoder, promptIds.slice(reusedTokens), promptIds, {
        ...sampling,
        maxNewTokens,
        eosIds: loaded.eosIds,
        stopped,
        // Every token is reported, text or not: one that ends inside a character (a Hangul
        // syllable is three UTF-8 bytes, often split over byte tokens) still counts in the
        // progress the page shows, so "Generating… N tokens" is never behind the engine.
        onToken: (token) => onDelta(stream.push([token]), stream.tokenIds.length),
      });
    } catch (error) {
      cache.truncate(0); // a run may have failed half-way: never reuse it
      throw error;
    }
    const finished = now();
    const generatedIds = result.tokens;
    const tail = stream.flush();
    if (tail) onDelta(tail, generatedIds.length);

    const lastIsEos = result.finishReason === 'eos';
    const replyIds = lastIsEos ? generatedIds.slice(0, -1) : generatedIds;
    const replyText = stream.text;
    // The cache holds every token that was fed: the prompt and every chosen token but the last.
    const cachedIds = [...promptIds, ...generatedIds].slice(0, cache.length);
    if (cachedIds.length === cache.length) this.turn = { promptText: text, replyText, ids: [...promptIds, ...replyIds], cachedIds };
    else cache.truncate(0);

    return {
      text: replyText,
      tokenIds: generatedIds,
      finishReason: result.finishReason,
      ...(this.turn ? { kvLocation: cache.location } : {}),
      ...(result.decodeCalls ? { decodeCalls: result.decodeCalls } : {}),
      stats: generationStats({
        startedMs: started,
        firstTokenMs: result.firstTokenAt,
        finishedMs: finished,
        promptTokens: promptIds.length,
        reusedTokens,
        generatedTokens: generatedIds.length,
      }),
      context: { ...decision.use, promptTokens: promptIds.length },
    };
  }

  /** The context plan for `messages`; a turn that cannot fit is a typed, translated error. */
  private decide(loaded: LoadedModel, messages: ChatMessage[], continueFinal: boolean, maxNewTokens: number): ContextDecision {
    try {
      return decideContext(
        (list, final) => renderPrompt(loaded.tokenizer, list, final),
        loaded.counter,
        { messages, continueFinal, window: loaded.contextWindow, maxNewTokens },
        this.contextPlan,
      );
    } catch (error) {
      if (!(error instanceof ContextBudgetError)) throw error;
      const window = loaded.contextWindow;
      if (error.code === 'message-too-long') {
        throw new AppError('message-too-long', error.message, { tokens: error.neededTokens, fit: error.availableTokens, window });
      }
      if (error.code === 'system-prompt-too-long') throw new AppError('system-prompt-too-long', error.message, { tokens: error.neededTokens, window });
      throw new AppError('generation-failed', error.message);
    }
  }

  /** The budget `generate` would plan for this conversation (its last message the draft), without generating. */
  countContext(messages: ChatMessage[], maxNewTokens: number): ContextCount {
    const loaded = this.requireLoaded();
    try {
      const { use } = this.decide(loaded, messages, false, maxNewTokens);
      return { fits: true, ...use };
    } catch (error) {
      if (error instanceof AppError && (error.code === 'message-too-long' || error.code === 'system-prompt-too-long')) {
        const params = error.params ?? {};
        return {
          fits: false,
          window: loaded.contextWindow,
          code: error.code,
          neededTokens: Number(params.tokens),
          availableTokens: Number(params.fit ?? 0),
        };
      }
      throw error;
    }
  }

  /** Interrupts the running generation if `id` is it (or any, when omitted). */
  stop(id?: string): boolean {
    if (!this.generation || (id !== undefined && this.generation.id !== id)) return false;
    this.generation.stopRequested = true;
    return true;
  }

  private async stopAndWait(): Promise<void> {
    const running = this.generation;
    if (!running) return;
    running.stopRequested = true;
    await running.done;
  }

  /** Empties the KV cache and releases its memory; returns how many tokens it covered. */
  async resetCache(): Promise<number> {
    const turn = this.turn;
    this.turn = null;
    this.loaded?.decoder.cache.dispose();
    return turn?.cachedIds.length ?? 0;
  }

  async unload(): Promise<boolean> {
    await this.stopAndWait();
    await this.resetCache();
    const loaded = this.loaded;
    this.loaded = null;
    this.contextPlan = null;
    if (!loaded) return false;
    loaded.decoder.gpuArgmax?.destroy();
    loaded.decoder.stepInputs?.destroy();
    await loaded.session.release();
    loaded.gpuDevice?.destroy();
    return true;
  }

  private requireLoaded(): LoadedModel {
    if (!this.loaded) throw new AppError('not-loaded', 'Load a model first.');
    return this.loaded;
  }
}
