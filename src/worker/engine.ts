/**
 * The LLM engine that runs inside the worker: transformers.js (AutoTokenizer +
 * AutoModelForCausalLM) on WebGPU, or WASM as the last resort.
 *
 * Lifecycle: load (adapter → files → session → warm-up) → generate* → unload. One generation at a
 * time; `stop` interrupts it between tokens and leaves a consistent KV cache.
 *
 * KV reuse across turns: the cache of the last turn is kept with the token ids it covers. The next
 * prompt is built from the previous turn's own token ids when the rendered conversation merely
 * extends the previous one (so the model's own tokenization of its reply is reused, not a
 * re-tokenization that may differ), and the cache is used only if those ids are an exact prefix
 * (planKvReuse). Anything else (edit, regenerate, other system prompt, other model) disposes the
 * cache, freeing its GPU buffers.
 */
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  DynamicCache,
  InterruptableStoppingCriteria,
  LogitsProcessor,
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type ProgressInfo,
} from '@huggingface/transformers';
import { chooseDtype, type ModelDtype } from '../model/catalog.ts';
import { ContextBudgetError, type BudgetPlan } from '../model/context-budget.ts';
import { filterTopKTopP } from '../model/sampling.ts';
import { EngineError } from './engine-error.ts';
import { acquireWebGpu } from './gpu.ts';
import { continuePromptIds, planKvReuse } from './kv-reuse.ts';
import type { ChatMessage, ContextCount, DeviceKind, FileProgress, GenerateResult, LoadResult, LoadSpec, SamplingParams } from './protocol.ts';
import { TextDeltaStream } from './text-stream.ts';
import { modelStore } from '../db/model-store.ts';
import { checkDeviceLimits, prepareContext, type ContextPatch } from './context-patch.ts';
import { decideContext, hasIds, PieceCounter, type ContextDecision } from './context-window.ts';
import { openStoredModel, readModelsFromStore, readModelsThroughCacheApi, type OpenedModel } from './model-cache.ts';
import { holdModelShared } from './model-locks.ts';

export interface LoadCallbacks {
  onPhase(phase: 'adapter' | 'files' | 'session' | 'warm-up'): void;
  onProgress(progress: FileProgress): void;
  onDeviceLost(reason: string): void;
}

/** transformers.js's LogitsProcessor contract: called with (input_ids, logits [batch, vocab]). */
class TopKTopPProcessor extends LogitsProcessor {
  constructor(
    private readonly topK: number,
    private readonly topP: number,
  ) {
    super();
  }

  _call(_inputIds: bigint[][], logits: Tensor): Tensor {
    const [batch, vocab] = logits.dims.length === 3 ? [logits.dims[0], logits.dims[2]] : logits.dims;
    const data = logits.data as Float32Array;
    for (let b = 0; b < batch; b++) filterTopKTopP(data.subarray(b * vocab, (b + 1) * vocab), this.topK, this.topP);
    return logits;
  }
}

interface LoadedModel {
  modelId: string;
  model: PreTrainedModel;
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

/** The previous turn: its prompt text, reply text, their token ids, and the cache over them. */
interface TurnCache {
  promptText: string;
  replyText: string;
  /** Prompt ids followed by the reply's own ids (without the end-of-turn token). */
  ids: number[];
  cache: DynamicCache;
  /** Token ids the cache covers (ids minus the last sampled token, which was never fed). */
  cachedIds: number[];
}


const now = () => performance.now();

let taskChannel: { port: MessagePort; waiting: (() => void)[] } | null = null;

/** Resolves in a new task (a MessageChannel, unlike setTimeout, has no 4 ms clamp when nested). */
function nextTask(): Promise<void> {
  if (!taskChannel) {
    const channel = new MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    taskChannel = { port: channel.port2, waiting };
  }
  const { port, waiting } = taskChannel;
  return new Promise((resolve) => {
    waiting.push(resolve);
    port.postMessage(null);
  });
}

/**
 * ONNX Runtime's WASM backend settles a forward pass in microtasks only, so the worker never
 * returns to its event loop during a reply and a `stop` message would wait until the reply is
 * complete. Yielding one task before each forward pass lets it in between tokens (WebGPU yields
 * on its own while it waits for the GPU; one extra task per token costs nothing there).
 */
function yieldBeforeEachForward(model: PreTrainedModel): void {
  const forward = model.forward.bind(model);
  model.forward = async (inputs: unknown) => {
    await nextTask();
    return forward(inputs);
  };
}

/**
 * The prompt text. With `continueFinal`, the last (assistant) message is left open so the model
 * writes on from its end, as Hugging Face's `continue_final_message` does: render without a
 * generation prompt and cut everything after the final message's (trimmed) content.
 */
export function renderPrompt(tokenizer: PreTrainedTokenizer, messages: ChatMessage[], continueFinal: boolean): string {
  // Only what the template knows: role and content (ids stay on our side).
  const plain = messages.map(({ role, content }) => ({ role, content }));
  const rendered = tokenizer.apply_chat_template(plain as unknown as Parameters<typeof tokenizer.apply_chat_template>[0], {
    add_generation_prompt: !continueFinal,
    tokenize: false,
  }) as string;
  if (!continueFinal) return rendered;
  const final = messages[messages.length - 1]?.content.trim() ?? '';
  const at = final ? rendered.lastIndexOf(final) : -1;
  if (at < 0) throw new EngineError('generation-failed', 'The reply to continue is not in the rendered prompt.');
  return rendered.slice(0, at + final.length);
}

export class LlmEngine {
  private loaded: LoadedModel | null = null;
  private turn: TurnCache | null = null;
  /** The last reply's context plan: where its kept history started (planContext's sticky start). */
  private contextPlan: BudgetPlan | null = null;
  private generation: { id: string; stopping: InterruptableStoppingCriteria; done: Promise<unknown> } | null = null;

  async load(spec: LoadSpec, callbacks: LoadCallbacks): Promise<LoadResult> {
    const started = now();
    await this.stopAndWait();
    await this.unload();

    callbacks.onPhase('adapter');
    let device: DeviceKind = 'wasm';
    let fallbackReason: string | undefined;
    let gpuDevice: GPUDevice | null = null;
    let adapterSummary: LoadResult['adapter'];
    if (spec.device === 'wasm') {
      fallbackReason = 'chosen';
    } else {
      const gpu = await acquireWebGpu();
      if (gpu.ok) {
        device = 'webgpu';
        gpuDevice = gpu.device;
        adapterSummary = gpu.summary;
      } else {
        fallbackReason = gpu.reason;
      }
    }

    const available = Object.fromEntries(spec.availableDtypes.map((d) => [d, null]));
    const deviceInfo = { kind: device, shaderF16: adapterSummary?.shaderF16 ?? false };
    const dtype = spec.dtype === 'auto' ? chooseDtype({ dtypes: available }, deviceInfo) : spec.dtype;
    if (!dtype || !spec.availableDtypes.includes(dtype)) {
      throw new EngineError('load-failed', `No usable precision among ${spec.availableDtypes.join(', ') || 'none'} on ${device}.`);
    }
    if (device === 'webgpu' && (dtype === 'fp16' || dtype === 'q4f16') && !deviceInfo.shaderF16) {
      throw new EngineError('load-failed', `${dtype} needs the GPU feature shader-f16, which this adapter lacks; choose q4 or fp32.`);
    }

    callbacks.onPhase('files');
    // The app reads only the store (filled by the store worker before this request); the Cache
    // API path exists for the benchmark's baseline. The model lock is held while files are read,
    // so another tab cannot delete them mid-load.
    const fromStore = spec.files !== 'cache-api';
    const release = fromStore ? await holdModelShared(spec.modelId) : () => {};
    let stored: OpenedModel | null = null;
    let context: ContextPatch | null = null;
    let location: { modelPath: string; options: { revision?: string } } = { modelPath: '', options: {} };
    const progress_callback = (info: ProgressInfo) => {
      if (info.status === 'initiate' || info.status === 'download' || info.status === 'progress' || info.status === 'done') {
        const p = info as ProgressInfo & { file: string; loaded?: number; total?: number };
        callbacks.onProgress({ file: p.file, status: info.status, loaded: p.loaded ?? 0, total: p.total ?? 0 });
      }
    };
    let lost = false;
    if (gpuDevice) {
      void gpuDevice.lost.then((info) => {
        lost = true;
        // A deliberate destroy() from unload is not an accident worth reporting.
        if (info.reason !== 'destroyed' || this.loaded?.gpuDevice === gpuDevice) callbacks.onDeviceLost(info.message || info.reason);
      });
    }
    const openFiles = async () => {
      if (!fromStore) {
        location = readModelsThroughCacheApi(spec.modelId, spec.source);
        return;
      }
      readModelsFromStore();
      await this.checkStored(spec.modelId, dtype);
      // Past the native window: a YaRN-patched config and graph, served over the stored originals.
      context = await prepareContext(modelStore, spec.modelId, dtype, spec.contextLength);
      if (context && gpuDevice) checkDeviceLimits(context.config, context.window, dtype, gpuDevice.limits);
      stored = openStoredModel(spec.modelId, { overrides: context?.overrides });
      location = { modelPath: stored.modelPath, options: {} };
    };
    const readModel = async () => {
      const tokenizer = await AutoTokenizer.from_pretrained(location.modelPath, { ...location.options, progress_callback });
      const model = await AutoModelForCausalLM.from_pretrained(location.modelPath, {
        ...location.options,
        device,
        dtype,
        progress_callback,
        session_options: gpuDevice ? { executionProviders: [{ name: 'webgpu', device: gpuDevice }] } : {},
      });
      return { tokenizer, model };
    };
    try {
      await openFiles();
      const opened = stored as OpenedModel | null;
      // A corrupt stored chunk ends the load through `failure` (see model-cache.ts).
      const { tokenizer, model } = opened ? await Promise.race([readModel(), opened.failure]) : await readModel();
      release();
      if (opened) void modelStore.touchModel(spec.modelId, dtype).catch(() => undefined);
      callbacks.onPhase('session');
      yieldBeforeEachForward(model);
      const config = model.config as unknown as { max_position_embeddings?: number };
      const patch = context as ContextPatch | null;
      const nativeContext = patch?.nativeContext ?? config.max_position_embeddings ?? 2048;
      const contextWindow = patch?.window ?? spec.contextLength ?? nativeContext;
      if (!patch && contextWindow > nativeContext) {
        throw new EngineError('context-unsupported', 'The Cache API baseline loads the files unchanged: no context past the native window.', {
          native: nativeContext,
          requested: contextWindow,
          reason: 'cache-api',
        });
      }
      const generationConfig = (model.generation_config ?? {}) as Record<string, unknown>;
      const eos = generationConfig.eos_token_id ?? (model.config as unknown as { eos_token_id?: number | number[] }).eos_token_id;
      this.loaded = {
        modelId: spec.modelId,
        model,
        tokenizer,
        device,
        dtype,
        gpuDevice,
        contextWindow,
        counter: new PieceCounter((text) => tokenizer.encode(text, { add_special_tokens: false })),
        eosIds: Array.isArray(eos) ? eos.map(Number) : eos === undefined || eos === null ? [] : [Number(eos)],
      };
      callbacks.onPhase('warm-up');
      await this.warmUp();
      if (lost) throw new EngineError('device-lost', 'The GPU device was lost while loading.');
      return {
        modelId: spec.modelId,
        device,
        dtype,
        ...(fallbackReason ? { fallbackReason } : {}),
        ...(adapterSummary ? { adapter: adapterSummary } : {}),
        contextWindow,
        nativeContext,
        ...(patch?.extension ? { contextExtension: patch.extension } : {}),
        generationConfig: JSON.parse(JSON.stringify(generationConfig)) as Record<string, unknown>,
        loadMs: now() - started,
      };
    } catch (error) {
      await this.unload();
      gpuDevice?.destroy();
      const opened = stored as OpenedModel | null;
      throw opened ? opened.explain(error) : error;
    } finally {
      release();
      (stored as OpenedModel | null)?.close();
    }
  }

  /** Every file of the precision must be stored whole before transformers.js is asked (no bytes read here). */
  private async checkStored(modelKey: string, dtype: ModelDtype): Promise<void> {
    if (!(await modelStore.markCompleteIfStored(modelKey, dtype))) {
      throw new EngineError('model-files-missing', `${modelKey} (${dtype}) is not stored completely: download it first.`);
    }
  }

  /**
   * One short forward pass so shader compilation and buffer allocation happen during loading,
   * not in the user's first reply (prefill shapes; decode shapes compile on the first reply).
   */
  private async warmUp(): Promise<void> {
    const { model, tokenizer } = this.requireLoaded();
    const ids = tokenizer.encode('hi', { add_special_tokens: true });
    await model.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      max_new_tokens: 1,
      do_sample: false,
    });
  }

  async generate(
    id: string,
    messages: ChatMessage[],
    sampling: SamplingParams,
    continueFinal: boolean,
    onDelta: (delta: string, generatedTokens: number) => void,
  ): Promise<GenerateResult> {
    const loaded = this.requireLoaded();
    if (this.generation) throw new EngineError('busy', 'A reply is already being generated.');
    const stopping = new InterruptableStoppingCriteria();
    let finish!: () => void;
    this.generation = { id, stopping, done: new Promise<void>((resolve) => (finish = resolve)) };
    try {
      return await this.runGeneration(loaded, messages, sampling, continueFinal, stopping, onDelta);
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
    stopping: InterruptableStoppingCriteria,
    onDelta: (delta: string, generatedTokens: number) => void,
  ): Promise<GenerateResult> {
    const { model, tokenizer } = loaded;
    const started = now();
    // Whole oldest turns are left out when the conversation outgrows the window; the KV cache
    // follows on its own (below: it is reused only on an exact token prefix).
    const decision = this.decide(loaded, messages, continueFinal, sampling.maxNewTokens);
    this.contextPlan = hasIds(messages) ? decision.plan : null;
    const text = renderPrompt(tokenizer, decision.kept, continueFinal);
    const encode = (s: string) => tokenizer.encode(s, { add_special_tokens: false });
    const promptIds = continuePromptIds(this.turn, text, encode);

    const window = loaded.contextWindow;
    if (promptIds.length >= window) {
      throw new EngineError('context-overflow', `The prompt has ${promptIds.length} tokens; the window is ${window}.`, { tokens: promptIds.length, window });
    }
    const maxNewTokens = Math.max(1, Math.min(sampling.maxNewTokens, window - promptIds.length));

    const plan = planKvReuse(this.turn?.cachedIds ?? null, promptIds);
    let cache: DynamicCache;
    if (plan.reuse && this.turn) {
      cache = this.turn.cache;
    } else {
      await this.resetCache();
      cache = new DynamicCache();
    }
    this.turn = null; // until this generation completes, no cache is trustworthy

    const stream = new TextDeltaStream((ids) => tokenizer.decode(ids, { skip_special_tokens: true }));
    let firstTokenAt = 0;
    let promptSeen = false;
    const streamer = {
      put: (value: bigint[][]) => {
        if (!promptSeen) {
          promptSeen = true; // generate() first echoes the prompt
          return;
        }
        if (!firstTokenAt) firstTokenAt = now();
        const ids = value.map((row) => Number(row[0]));
        const delta = stream.push(ids);
        if (delta) onDelta(delta, stream.tokenIds.length);
      },
      end: () => {},
    };

    const greedy = !(sampling.temperature > 0);
    let output: { sequences: Tensor; past_key_values: DynamicCache };
    try {
      output = (await model.generate({
        input_ids: new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]),
        attention_mask: new Tensor('int64', new BigInt64Array(promptIds.length).fill(1n), [1, promptIds.length]),
        past_key_values: cache,
        return_dict_in_generate: true,
        max_new_tokens: maxNewTokens,
        do_sample: !greedy,
        ...(greedy ? {} : { temperature: sampling.temperature, top_k: sampling.topK }),
        repetition_penalty: sampling.repetitionPenalty,
        logits_processor: greedy ? null : [new TopKTopPProcessor(sampling.topK, sampling.topP)],
        stopping_criteria: [stopping],
        streamer,
      } as unknown as Parameters<PreTrainedModel['generate']>[0])) as unknown as { sequences: Tensor; past_key_values: DynamicCache };
    } catch (error) {
      await cache.dispose(); // partially updated: never reuse it
      throw error;
    }
    const finished = now();
    const sequence = Array.from(output.sequences.data as BigInt64Array, Number);
    const generatedIds = sequence.slice(promptIds.length);
    const tail = stream.flush();
    if (tail) onDelta(tail, generatedIds.length);

    const lastIsEos = generatedIds.length > 0 && loaded.eosIds.includes(generatedIds[generatedIds.length - 1]);
    const replyIds = lastIsEos ? generatedIds.slice(0, -1) : generatedIds;
    const cachedIds = sequence.slice(0, -1);
    const replyText = stream.text;
    if (output.past_key_values.get_seq_length() === cachedIds.length) {
      this.turn = { promptText: text, replyText, ids: [...promptIds, ...replyIds], cache: output.past_key_values, cachedIds };
    } else {
      await output.past_key_values.dispose();
    }

    const kvLocations = this.turn ? new Set(Object.values(this.turn.cache).map((t) => (t as Tensor).location)) : null;
    const reusedTokens = plan.reuse ? plan.reusedTokens : 0;
    const prefillTokens = promptIds.length - reusedTokens;
    const ttft = (firstTokenAt || finished) - started;
    const decodeTokens = Math.max(0, generatedIds.length - 1);
    const decodeMs = finished - (firstTokenAt || finished);
    return {
      text: replyText,
      tokenIds: generatedIds,
      finishReason: stopping.interrupted ? 'stop' : lastIsEos ? 'eos' : 'length',
      ...(kvLocations?.size ? { kvLocation: kvLocations.size === 1 ? [...kvLocations][0] : 'mixed' } : {}),
      stats: {
        promptTokens: promptIds.length,
        reusedTokens,
        prefillTokens,
        timeToFirstTokenMs: ttft,
        prefillTokensPerSecond: ttft > 0 ? (prefillTokens * 1000) / ttft : 0,
        decodeTokens,
        decodeTokensPerSecond: decodeMs > 0 ? (decodeTokens * 1000) / decodeMs : 0,
        totalMs: finished - started,
      },
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
        throw new EngineError('message-too-long', error.message, { tokens: error.neededTokens, fit: error.availableTokens, window });
      }
      if (error.code === 'system-prompt-too-long') throw new EngineError('system-prompt-too-long', error.message, { tokens: error.neededTokens, window });
      throw new EngineError('generation-failed', error.message);
    }
  }

  /** The budget `generate` would plan for this conversation (its last message the draft), without generating. */
  countContext(messages: ChatMessage[], maxNewTokens: number): ContextCount {
    const loaded = this.requireLoaded();
    try {
      const { use } = this.decide(loaded, messages, false, maxNewTokens);
      return { fits: true, ...use };
    } catch (error) {
      if (error instanceof EngineError && (error.code === 'message-too-long' || error.code === 'system-prompt-too-long')) {
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
    this.generation.stopping.interrupt();
    return true;
  }

  private async stopAndWait(): Promise<void> {
    const running = this.generation;
    if (!running) return;
    running.stopping.interrupt();
    await running.done;
  }

  /** Drops the KV cache, releasing its GPU buffers; returns how many tokens it covered. */
  async resetCache(): Promise<number> {
    const turn = this.turn;
    this.turn = null;
    if (!turn) return 0;
    await turn.cache.dispose();
    return turn.cachedIds.length;
  }

  async unload(): Promise<boolean> {
    await this.stopAndWait();
    await this.resetCache();
    const loaded = this.loaded;
    this.loaded = null;
    this.contextPlan = null;
    if (!loaded) return false;
    await loaded.model.dispose();
    loaded.gpuDevice?.destroy();
    return true;
  }

  private requireLoaded(): LoadedModel {
    if (!this.loaded) throw new EngineError('not-loaded', 'Load a model first.');
    return this.loaded;
  }
}
