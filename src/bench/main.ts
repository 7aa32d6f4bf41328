/**
 * The benchmark page (bench.html): the app's real pieces — the LLM worker (transformers.js), the
 * store worker (downloads into Dexie) and the model store — plus the peer (wllama), driven step
 * by step by `npm run bench` (tools/bench.ts) through `window.hanmadiBench`. A developer page: its
 * few words are English only and it is never part of the app's build (vite --mode bench).
 */
import { engineClient } from '../worker/engine-client.ts';
import { probeWebGpu, acquireWebGpu } from '../worker/gpu.ts';
import type { StoredModelSpec } from '../worker/protocol.ts';
import { storeClient } from '../worker/store-client.ts';
import type { BenchApi, BenchModel, GenerateSample, PageInfo } from './bench-api.ts';
import { measureReadBandwidth } from './bandwidth.ts';
import { timeLmHead } from './lm-head.ts';
import { memoryMethod, settleAfterWorkerEnd, withMemoryPeak } from './memory.ts';
import { peerComplete, peerExit, peerLoad } from './peer.ts';

/** transformers.js's default Cache API cache name (utils/hub.js). */
const TRANSFORMERS_CACHE = 'transformers-cache';

const status = document.getElementById('status');
const say = (text: string) => {
  if (status) status.textContent = text;
};

const storedSpec = (model: BenchModel): StoredModelSpec => ({
  modelKey: model.key,
  label: model.label,
  source: { kind: 'url', baseUrl: model.baseUrl },
  dtype: model.dtype,
});

async function ensure(model: BenchModel): Promise<{ bytes: number; ms: number; downloadedBytes: number }> {
  const started = performance.now();
  let total = 0;
  const { result } = storeClient().ensure(storedSpec(model), (p) => (total = p.total));
  const outcome = await result;
  if (outcome.outcome !== 'complete') throw new Error(`download ended ${outcome.outcome}`);
  return { bytes: total, ms: performance.now() - started, downloadedBytes: outcome.downloadedBytes };
}

async function adapterInfo(): Promise<PageInfo['adapter']> {
  if (!(await probeWebGpu()).webgpu) return null;
  const gpu = await acquireWebGpu('webgpu');
  if (!gpu.ok) return null;
  const features = [...gpu.device.features].map(String).sort();
  gpu.device.destroy();
  return { ...gpu.summary, features };
}

const api: BenchApi = {
  async info() {
    return {
      userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency,
      crossOriginIsolated,
      memoryMethod: memoryMethod()?.method ?? null,
      adapter: await adapterInfo(),
    };
  },
  readBandwidth: (options) => measureReadBandwidth(options),
  async fetchFiles(urls) {
    const started = performance.now();
    let bytes = 0;
    for (const url of urls) {
      const response = await fetch(url, { cache: 'no-store' });
      if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
      const reader = response.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength;
    }
    return { bytes, ms: performance.now() - started };
  },
  async coldDownload(model) {
    await storeClient().deleteModel(model.key, model.dtype);
    return ensure(model);
  },
  async ensureStored(model) {
    const { bytes, ms } = await ensure(model);
    return { bytes, ms };
  },
  async convert(checkpoint, options) {
    const spec: StoredModelSpec = {
      modelKey: checkpoint.key,
      label: checkpoint.label,
      source: { kind: 'hf-safetensors', repo: checkpoint.repo, revision: 'main' },
      dtype: checkpoint.dtype,
    };
    await storeClient().deleteModel(spec.modelKey, spec.dtype);
    let sourceBytes = 0;
    let storedBytes = 0;
    say(`converting ${checkpoint.repo} to ${checkpoint.dtype}`);
    const { value, ms, memory } = await withMemoryPeak(options.memorySampleMs, async () => {
      const { result } = storeClient().ensure(
        spec,
        (p) => {
          sourceBytes = p.total;
          storedBytes = p.conversion?.storedBytes ?? storedBytes;
        },
        { hubUrl: checkpoint.hubUrl },
      );
      return result;
    });
    if (value.outcome !== 'complete') throw new Error(`conversion ended ${value.outcome}`);
    await storeClient().deleteModel(spec.modelKey, spec.dtype);
    return { ms, sourceBytes, storedBytes, memory };
  },
  clearCacheApi: () => caches.delete(TRANSFORMERS_CACHE),
  async load(model, options) {
    say(`loading ${model.label} (${options.files}, ${options.device})`);
    const {
      value: result,
      ms,
      memory,
    } = await withMemoryPeak(options.memorySampleMs, () =>
      engineClient().load({
        modelId: model.key,
        source: { kind: 'url', baseUrl: model.baseUrl },
        files: options.files,
        dtype: model.dtype,
        availableDtypes: [model.dtype],
        device: options.device,
        ...(options.threads ? { threads: options.threads } : {}),
        ...(options.countGpuCalls ? { countGpuCalls: true } : {}),
      }),
    );
    say(`loaded ${model.label} on ${result.device}`);
    return { ms, result, memory };
  },
  async unload() {
    await engineClient().unload();
    await settleAfterWorkerEnd();
  },
  memoryNow: async () => (await memoryMethod()?.measure()) ?? null,
  async generate(messages, maxNewTokens) {
    const { result } = engineClient().generate(messages, { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens }, () => undefined);
    const sample: GenerateSample = { result: await result };
    return sample;
  },
  resetCache: async () => (await engineClient().resetCache()).disposedTokens,
  async timeLmHead(options) {
    say(`timing the lm_head (${options.vocabSize} × ${options.hiddenSize}, ${options.dtype}) on ${options.device}`);
    return timeLmHead(options);
  },
  peerLoad,
  peerComplete,
  peerExit,
};

window.hanmadiBench = api;
say('ready');
