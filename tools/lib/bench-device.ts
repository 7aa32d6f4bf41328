/** Our engine's stages on one device (WebGPU or WASM): load, prefill, decode, the next turn with and without KV reuse. */
import type { Page } from '@playwright/test';
import type { BenchModel, GenerateSample, MemoryPeak } from '../../src/bench/bench-api.ts';
import { ratioOfMedians, summarize } from '../../src/bench/stats.ts';
import type { ChatMessage, LoadPhasesMs } from '../../src/worker/protocol.ts';
import type { Stage, BenchDevice, BenchOptions, DeviceRun } from './bench-types.ts';
import { log, call, loadSummary, stage, type Prompts } from './bench-page.ts';

/** The lm_head's share of a decode step: the head alone on this device's provider, against the decode stage's step. */
async function lmHeadStage(
  page: Page,
  device: BenchDevice,
  options: BenchOptions,
  model: DeviceModel,
  decode: NonNullable<DeviceRun['decode']>,
): Promise<NonNullable<DeviceRun['lmHead']>> {
  const timing = await call(page, 'timeLmHead', {
    device,
    hiddenSize: model.hiddenSize,
    vocabSize: model.vocabSize,
    dtype: options.dtype,
    samples: options.reps,
    threads: options.threads,
  });
  const ms = summarize(timing.msPerRun);
  // The longest decode with a rate: its steps are the steadiest.
  const measured = Object.entries(decode)
    .filter(([, d]) => d.tokensPerSecond)
    .sort(([a], [b]) => Number(b) - Number(a))[0];
  const stepMs = measured ? 1000 / measured[1].tokensPerSecond!.median : null;
  const shareOfStep = ms && stepMs ? ms.median / stepMs : null;
  log(
    `${device} lm_head ${model.vocabSize} × ${model.hiddenSize} (${options.dtype}): ${timing.msPerRun.map((x) => x.toFixed(2)).join(', ')} ms a run` +
      (shareOfStep !== null ? `; ${(100 * shareOfStep).toFixed(1)} % of a ${stepMs!.toFixed(1)} ms decode step` : ''),
  );
  return {
    dtype: options.dtype,
    hiddenSize: model.hiddenSize,
    vocabSize: model.vocabSize,
    weightBytes: timing.weightBytes,
    runsPerSample: timing.runsPerSample,
    ms,
    firstRunMs: timing.firstRunMs,
    decodeTokens: measured ? Number(measured[0]) : null,
    stepMs,
    shareOfStep,
  };
}

/** The same widths at another depth, counted after the stages on WebGPU (BenchOptions.depthProbe). */
export interface DepthProbe {
  bench: BenchModel;
  layers: number;
  /** The benchmarked model's layers. */
  modelLayers: number;
}

/** The benchmarked model: its stored files' bytes (what a load's peak memory is compared with) and the head's widths. */
export interface DeviceModel {
  bytes: number;
  hiddenSize: number;
  vocabSize: number;
}

export async function deviceStages(
  page: Page,
  device: BenchDevice,
  bench: BenchModel,
  options: BenchOptions,
  p: Prompts,
  model: DeviceModel,
  depthProbe: DepthProbe | null = null,
): Promise<DeviceRun> {
  const has = (s: Stage) => options.stages.includes(s);
  const out: DeviceRun = { device, errors: {} };
  // The bench's WebGPU runs are about WebGPU: forced, even on a software adapter (Automatic would take the CPU there).
  const engineDevice: 'webgpu' | 'wasm' = device;
  const threads = options.threads;
  // Nothing to run on the engine (a conversion-only run, say): the model need not be stored.
  if (!['load', 'prefill', 'decode', 'turn'].some((s) => has(s as Stage)) && !(has('roofline') && device === 'webgpu')) return out;
  await stage(out.errors, 'ensure', async () => void (await call(page, 'ensureStored', bench)));
  if (out.errors.ensure) return out;

  if (has('load')) {
    await stage(out.errors, 'load', async () => {
      const store: { ms: number; memory: MemoryPeak | null; phasesMs: LoadPhasesMs }[] = [];
      const afterUnload: number[] = [];
      const cacheApi: { ms: number; memory: MemoryPeak | null; phasesMs: LoadPhasesMs }[] = [];
      await call(page, 'clearCacheApi');
      // The baseline's first load fetches the files into the Cache API: a cold load, recorded apart.
      const cold = await call(page, 'load', bench, { files: 'cache-api', device: engineDevice, memorySampleMs: 0, threads });
      await call(page, 'unload');
      log(`${device} load: Cache API cold (download + load) ${(cold.ms / 1000).toFixed(1)} s`);
      for (let r = 0; r < options.loadReps; r++) {
        for (const files of r % 2 === 0 ? (['store', 'cache-api'] as const) : (['cache-api', 'store'] as const)) {
          const sample = await call(page, 'load', bench, { files, device: engineDevice, memorySampleMs: options.memorySampleMs, threads });
          await call(page, 'unload');
          // The engine's worker is gone after an unload: what stays is what the load failed to give back.
          const after = sample.memory ? await call(page, 'memoryNow') : null;
          if (files === 'store' && after !== null && sample.memory) afterUnload.push(after / sample.memory.baselineBytes);
          if (device === 'webgpu' && sample.result.device !== 'webgpu')
            throw new Error(`WebGPU was asked for but the engine ran on ${sample.result.device} (${sample.result.fallbackReason ?? '?'})`);
          const phasesMs = sample.result.phasesMs;
          (files === 'store' ? store : cacheApi).push({ ms: sample.ms, memory: sample.memory, phasesMs });
          const phases = Object.entries(phasesMs)
            .map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(2)}`)
            .join(', ');
          log(
            `${device} load ${r + 1}/${options.loadReps} from ${files}: ${(sample.ms / 1000).toFixed(1)} s (${phases}; ${sample.result.threads} thread(s))${sample.memory ? `, peak memory ${(sample.memory.peakBytes / 2 ** 20).toFixed(0)} MiB` : ''}`,
          );
        }
      }
      const s = loadSummary(store);
      const c = loadSummary(cacheApi);
      out.load = {
        store: s,
        cacheApi: c,
        cacheApiColdMs: cold.ms,
        storeOverCacheApi: ratioOfMedians(s.summary, c.summary),
        peakOverModelBytes: s.peakMemory ? s.peakMemory.median / model.bytes : null,
        afterUnloadOverBaseline: summarize(afterUnload),
      };
    });
  }

  if (!['prefill', 'decode', 'turn'].some((s) => has(s as Stage)) && !(has('roofline') && device === 'webgpu')) return out;
  const loaded = await call(page, 'load', bench, { files: 'store', device: engineDevice, memorySampleMs: 0, threads, countGpuCalls: device === 'webgpu' });
  out.loaded = {
    device: loaded.result.device,
    dtype: loaded.result.dtype,
    loadMs: loaded.result.loadMs,
    ...(loaded.result.fallbackReason ? { fallbackReason: loaded.result.fallbackReason } : {}),
  };
  if (device === 'webgpu' && loaded.result.device !== 'webgpu') {
    out.errors.device = `WebGPU was asked for but the engine ran on ${loaded.result.device} (${loaded.result.fallbackReason ?? '?'})`;
    return out;
  }
  const kv = new Set<string>();
  const calls = { steps: 0, dispatches: 0, submits: 0, bufferCreations: 0, pipelineCompiles: 0, readbacks: 0 };
  const generate = async (messages: ChatMessage[], maxNewTokens: number): Promise<GenerateSample> => {
    const g = await call(page, 'generate', messages, maxNewTokens);
    // A prompt cut to fit the context window would measure a shorter prompt than asked for.
    if (g.result.context.droppedTurns > 0)
      throw new Error(`the engine dropped ${g.result.context.droppedTurns} turn(s) to fit its ${g.result.context.window}-token window`);
    if (g.result.kvLocation) kv.add(g.result.kvLocation);
    return g;
  };

  if (has('prefill')) {
    out.prefill = {};
    for (const prompt of p.prefillPrompts) {
      await stage(out.errors, `prefill ${prompt.tokens}`, async () => {
        const ttft: number[] = [];
        const speed: number[] = [];
        const tokens: number[] = [];
        for (let r = 0; r < options.reps; r++) {
          await call(page, 'resetCache');
          const g = await generate(prompt.messages, 1);
          const s = g.result.stats;
          if (s.reusedTokens !== 0) throw new Error('a prefill sample reused the KV cache');
          tokens.push(s.promptTokens);
          ttft.push(s.timeToFirstTokenMs);
          speed.push(s.prefillTokensPerSecond);
          log(
            `${device} prefill ${s.promptTokens} tokens ${r + 1}/${options.reps}: first token after ${(s.timeToFirstTokenMs / 1000).toFixed(2)} s (${s.prefillTokensPerSecond.toFixed(1)} tok/s)`,
          );
        }
        out.prefill![String(prompt.tokens)] = { promptTokens: tokens, ttftMs: summarize(ttft), tokensPerSecond: summarize(speed) };
      });
    }
  }

  if (has('decode') || (has('roofline') && device === 'webgpu')) {
    out.decode = {};
    for (const n of options.decode) {
      await stage(out.errors, `decode ${n}`, async () => {
        const speed: number[] = [];
        const counts: number[] = [];
        const reasons: string[] = [];
        for (let r = 0; r < options.reps; r++) {
          await call(page, 'resetCache');
          const g = await generate(p.decodePrompt.messages, n);
          const s = g.result.stats;
          // A reply that ended after its first token has no decode rate (the engine reports 0): left out, counted.
          speed.push(s.decodeTokens > 0 ? s.decodeTokensPerSecond : Number.NaN);
          counts.push(s.decodeTokens);
          reasons.push(g.result.finishReason);
          const counted = g.result.decodeCalls;
          if (counted) {
            calls.steps += counted.steps;
            for (const key of ['dispatches', 'submits', 'bufferCreations', 'pipelineCompiles', 'readbacks'] as const) calls[key] += counted.calls[key];
          }
          log(
            `${device} decode ${n} ${r + 1}/${options.reps}: ${s.decodeTokens} tokens at ${s.decodeTokensPerSecond.toFixed(2)} tok/s (${g.result.finishReason})`,
          );
        }
        // The mean context over the decoded tokens: what the KV cache holds halfway through.
        const contextTokens = Math.round(p.decodePrompt.tokens + Math.min(...counts) / 2);
        out.decode![String(n)] = { decodeTokens: counts, finishReasons: reasons, tokensPerSecond: summarize(speed), contextTokens };
      });
    }
    if (calls.steps > 0) {
      const perStep = (x: number) => x / calls.steps;
      out.perStep = {
        steps: calls.steps,
        dispatches: perStep(calls.dispatches),
        submits: perStep(calls.submits),
        bufferCreations: perStep(calls.bufferCreations),
        pipelineCompiles: perStep(calls.pipelineCompiles),
        readbacks: perStep(calls.readbacks),
      };
      log(`${device} per decode step: ${JSON.stringify(out.perStep)}`);
    }
    const history = p.historyPrompt;
    if (history && has('decode')) {
      // The same decode after the long history: does a step slow down as the cache grows?
      const n = Math.min(...options.decode);
      await stage(out.errors, 'decode long', async () => {
        const speed: number[] = [];
        const counts: number[] = [];
        for (let r = 0; r < options.reps; r++) {
          await call(page, 'resetCache');
          const s = (await generate(history.messages, n)).result.stats;
          speed.push(s.decodeTokens > 0 ? s.decodeTokensPerSecond : Number.NaN);
          counts.push(s.decodeTokens);
          log(`${device} decode ${n} after ${s.promptTokens} tokens ${r + 1}/${options.reps}: ${s.decodeTokensPerSecond.toFixed(2)} tok/s`);
        }
        out.decodeLong = { contextTokens: Math.round(history.tokens + Math.min(...counts) / 2), decodeTokens: counts, tokensPerSecond: summarize(speed) };
      });
    }
  }

  if (has('turn') && p.historyPrompt) {
    await stage(out.errors, 'turn', async () => {
      const history = p.historyPrompt!;
      await call(page, 'resetCache');
      // Turn 1 (not measured): the long history and a short reply, leaving its KV cache behind.
      const first = await generate(history.messages, 4);
      const messages: ChatMessage[] = [...history.messages, { role: 'assistant', content: first.result.text }];
      const withReuse: number[] = [];
      const without: number[] = [];
      const reused: number[] = [];
      const promptTokens: number[] = [];
      for (let r = 0; r < options.reps; r++) {
        messages.push({ role: 'user', content: p.prompts.contentOf(options.turnMessage, 11 * (r + 1)) });
        const a = await generate(messages, 1);
        if (a.result.stats.reusedTokens === 0) throw new Error('the next turn did not reuse the KV cache');
        await call(page, 'resetCache');
        const b = await generate(messages, 1);
        if (b.result.stats.reusedTokens !== 0) throw new Error('the turn after a reset reused a cache');
        withReuse.push(a.result.stats.timeToFirstTokenMs);
        without.push(b.result.stats.timeToFirstTokenMs);
        reused.push(a.result.stats.reusedTokens);
        promptTokens.push(b.result.stats.promptTokens);
        // The cache now covers this turn (computed without reuse): the next round extends it.
        messages.push({ role: 'assistant', content: b.result.text });
        log(
          `${device} turn ${r + 1}/${options.reps} (${b.result.stats.promptTokens} tokens, ${a.result.stats.reusedTokens} cached): first token ${(a.result.stats.timeToFirstTokenMs / 1000).toFixed(2)} s with reuse, ${(b.result.stats.timeToFirstTokenMs / 1000).toFixed(2)} s without`,
        );
      }
      const w = summarize(withReuse);
      const wo = summarize(without);
      out.turn = { reusedTokens: reused, promptTokens, withReuseMs: w, withoutReuseMs: wo, withOverWithout: ratioOfMedians(w, wo) };
    });
  }
  out.kvLocation = [...kv];
  await call(page, 'unload');
  if (has('decode') && out.decode)
    await stage(out.errors, 'lm_head', async () => {
      out.lmHead = await lmHeadStage(page, device, options, model, out.decode!);
    });
  const perStep = out.perStep;
  if (device === 'webgpu' && depthProbe && perStep && depthProbe.layers !== depthProbe.modelLayers) {
    // The same decode on the same widths at another depth: what one more layer adds to a step.
    await stage(out.errors, 'depth probe', async () => {
      await call(page, 'ensureStored', depthProbe.bench);
      await call(page, 'load', depthProbe.bench, { files: 'store', device: 'webgpu', memorySampleMs: 0, threads, countGpuCalls: true });
      const counted = (await generate(p.decodePrompt.messages, 3)).result.decodeCalls;
      await call(page, 'unload');
      if (!counted || counted.steps === 0) throw new Error('the depth probe decoded no counted step');
      const dispatches = counted.calls.dispatches / counted.steps;
      const step = (x: number) => x / counted.steps;
      perStep.depthProbe = {
        model: depthProbe.bench.label,
        layers: depthProbe.layers,
        dispatches,
        steps: counted.steps,
        submits: step(counted.calls.submits),
        bufferCreations: step(counted.calls.bufferCreations),
        readbacks: step(counted.calls.readbacks),
      };
      perStep.dispatchesPerLayer = (perStep.dispatches - dispatches) / (depthProbe.modelLayers - depthProbe.layers);
      log(
        `${device} depth probe ${depthProbe.bench.label} (${depthProbe.layers} layers): ${dispatches.toFixed(1)} dispatches a step → ${perStep.dispatchesPerLayer.toFixed(2)} per layer`,
      );
    });
  }
  return out;
}
