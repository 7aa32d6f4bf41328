/**
 * One benchmark run of one model: drives the bench page (src/bench/) in headless Chromium through
 * every stage and returns what it measured. Used by `npm run bench` (tools/bench.ts) and by the
 * e2e smoke (e2e/bench.spec.ts).
 *
 * Each device (WebGPU, WASM) gets a fresh browser profile, so the store and the Cache API start
 * empty and the Cache API baseline holds exactly one copy; the peer gets one too (its OPFS cache).
 * Steps of one kind are repeated in the same browser process and summarized (min / median /
 * max); ratios compare medians measured in the same run.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS } from '../../playwright.config.ts';
import type { BenchApi, BenchModel, GenerateSample, MemoryPeak, PageInfo, PeerCompletion } from '../../src/bench/bench-api.ts';
import { decodeStepBytes, roofline } from '../../src/bench/roofline.ts';
import { ratioOfMedians, summarize, type Summary } from '../../src/bench/stats.ts';
import type { ModelDtype } from '../../src/model/catalog.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../../src/model/config.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../../src/model/model-files.ts';
import type { ChatMessage } from '../../src/worker/protocol.ts';
import { startBenchServer, type BenchPaths } from './bench-server.ts';
import { PromptBuilder, type BenchPrompt } from './bench-prompts.ts';

export const STAGES = ['download', 'load', 'prefill', 'decode', 'turn', 'roofline', 'peer'] as const;
export type Stage = (typeof STAGES)[number];
export type BenchDevice = 'webgpu' | 'wasm';

export interface BenchOptions {
  model: string;
  dtype: ModelDtype;
  stages: Stage[];
  /** Our engine's devices; the first one also runs the download and bandwidth stages. */
  devices: BenchDevice[];
  /** Repetitions of each generation step, of each warm load, and of each cold download. */
  reps: number;
  loadReps: number;
  downloadReps: number;
  /** Prompt lengths (tokens) for time to first token / prefill. */
  prefill: number[];
  /** New tokens for decode speed, and the prompt they follow. */
  decode: number[];
  decodePrompt: number;
  /** Tokens of history before the measured turn (turn-N), and of the new user message. */
  history: number;
  turnMessage: number;
  /** wllama's threads (its default: half the cores) and context size (0: from the stages). */
  peerThreads: number;
  peerContext: number;
  memorySampleMs: number;
  /**
   * A smaller plan for our WebGPU device when its adapter is a CPU implementation (SwiftShader:
   * ~4 s per tiny-model token, 25-30 s for the Kanana shape); null: WebGPU runs the plan above.
   * On a real GPU it is never applied.
   */
  cpuAdapterPlan: DevicePlan | null;
  /** What was cut from the standard plan for this run, in words (said in the results). */
  reductions: string[];
}

export interface DevicePlan {
  reps: number;
  prefill: number[];
  decode: number[];
  history: number;
}

/** The standard plan (what the issue asks for); profiles and flags may reduce it, and say so. */
export const STANDARD_PLAN = { prefill: [128, 512, 2048], decode: [64, 256], history: 2048, reps: 3 } as const;


export interface LoadSamples {
  ms: number[];
  summary: Summary | null;
  peakMemory: Summary | null;
  memoryMethod: string | null;
  baselineMemory: Summary | null;
}

export interface DeviceRun {
  device: BenchDevice;
  /** What the engine reported (device, dtype, adapter, fallback). */
  loaded?: { device: string; dtype: string; fallbackReason?: string; loadMs: number };
  load?: { store: LoadSamples; cacheApi: LoadSamples; cacheApiColdMs: number; storeOverCacheApi: number | null };
  prefill?: Record<string, { promptTokens: number[]; ttftMs: Summary | null; tokensPerSecond: Summary | null }>;
  decode?: Record<string, { decodeTokens: number[]; finishReasons: string[]; tokensPerSecond: Summary | null; contextTokens: number }>;
  turn?: { reusedTokens: number[]; promptTokens: number[]; withReuseMs: Summary | null; withoutReuseMs: Summary | null; withOverWithout: number | null };
  /** The plan this device ran when it differs from the run's options (a CPU adapter's plan). */
  plan?: DevicePlan;
  /** Where the engine kept the KV cache between turns (ONNX Runtime tensor locations). */
  kvLocation?: string[];
  errors: Record<string, string>;
}

export interface PeerRun {
  engine: string;
  ggufBytes: number;
  threads: number;
  multithread: boolean;
  gpu: boolean;
  contextTokens: number;
  coldLoadMs?: number;
  load?: LoadSamples;
  prefill?: Record<string, { promptTokens: number[]; ttftMs: Summary | null; tokensPerSecond: Summary | null; nativePrefillTokensPerSecond: Summary | null }>;
  decode?: Record<string, { decodeTokens: number[]; tokensPerSecond: Summary | null }>;
  turn?: { cachedTokens: number[]; withReuseMs: Summary | null; withoutReuseMs: Summary | null; withOverWithout: number | null };
  utf8Failures: string[];
  errors: Record<string, string>;
}

export interface ModelRun {
  model: string;
  dtype: ModelDtype;
  startedAt: string;
  /** The commit this run measured (set by the driver; the file's machine.commit is the latest run's). */
  commit?: string;
  finishedAt: string;
  options: BenchOptions;
  page: PageInfo | null;
  /** Load average (1 min) sampled every 30 s during the run, and the cores it is relative to. */
  load: { cores: number; samples: number[]; min: number; max: number; mean: number };
  model_files: { bytes: number; graphBytes: number; files: string[] };
  download?: { bytes: number; coldBytesPerSecond: Summary | null; serverBytesPerSecond: Summary | null; coldOverServer: number | null; downloadedBytes: number[] };
  bandwidth?: { gbPerSecond: Summary | null; bufferBytes: number; dispatches: number };
  devices: DeviceRun[];
  /** Keyed by `<device> <new tokens>`: the WGSL probe's bandwidth bounds every device's decode (WASM's too, as the same memory is read). */
  roofline?: Record<string, { device: BenchDevice; contextTokens: number; weightBytes: number; kvBytes: number; bytesPerStep: number; boundTokensPerSecond: number; measuredTokensPerSecond: number; fractionOfBound: number }>;
  peer?: PeerRun;
  /** ours ÷ wllama, per device of ours: speeds (tok/s) — above 1 ours is faster; load time — below 1 ours is faster. */
  comparison?: Record<string, { loadTimeOursOverPeer: number | null; prefillSpeed: Record<string, number | null>; decodeSpeed: Record<string, number | null> }>;
  caveats: string[];
  errors: Record<string, string>;
}

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

type Method = keyof BenchApi;

/** Calls the page's bench API (a step can take many minutes on SwiftShader: no Playwright timeout applies to evaluate). */
async function call<M extends Method>(page: Page, method: M, ...args: Parameters<BenchApi[M]>): Promise<Awaited<ReturnType<BenchApi[M]>>> {
  return page.evaluate(
    async ([m, a]) => {
      const api = window.hanmadiBench;
      if (!api) throw new Error('The bench page is not ready.');
      return (api[m] as (...x: unknown[]) => Promise<unknown>)(...a);
    },
    [method, args] as [M, unknown[]],
  ) as Promise<Awaited<ReturnType<BenchApi[M]>>>;
}

const watched = new WeakSet<Page>();

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  if (!watched.has(page)) {
    watched.add(page);
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
  }
  await page.goto(`${url}/bench.html`);
  await page.waitForFunction(() => window.hanmadiBench !== undefined);
  return page;
}

function modelFiles(paths: BenchPaths, model: string, dtype: ModelDtype) {
  const dir = join(paths.models, model);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as HfLlamaConfig;
  const graph = graphFiles(config, dtype);
  const files = [...REQUIRED_SHARED_FILES, ...OPTIONAL_SHARED_FILES, ...graph];
  const size = (f: string) => statSync(join(dir, f)).size;
  return { config, files, bytes: files.reduce((s, f) => s + size(f), 0), graphBytes: graph.reduce((s, f) => s + size(f), 0) };
}

const perSecond = (bytes: number, ms: number) => (bytes * 1000) / ms;
const memorySummary = (samples: (MemoryPeak | null)[]) => ({
  peakMemory: summarize(samples.flatMap((m) => (m ? [m.peakBytes] : []))),
  baselineMemory: summarize(samples.flatMap((m) => (m ? [m.baselineBytes] : []))),
  memoryMethod: samples.find((m) => m)?.method ?? null,
});

/** The load figures of a set of samples: times, their summary and the memory peaks. */
const loadSummary = (samples: { ms: number; memory: MemoryPeak | null }[]): LoadSamples => ({
  ms: samples.map((s) => s.ms),
  summary: summarize(samples.map((s) => s.ms)),
  ...memorySummary(samples.map((s) => s.memory)),
});

/** Runs `step`; a failure is recorded under `name` instead of ending the run. */
async function stage(errors: Record<string, string>, name: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    errors[name] = error instanceof Error ? error.message.split('\n')[0] : String(error);
    log(`${name} failed: ${errors[name]}`);
  }
}

export interface RunContext {
  paths: BenchPaths;
  chromiumPath: string;
  /** The GGUF file of the model for the peer (null: no peer stage). */
  gguf: string | null;
}

export async function runModelBench(options: BenchOptions, ctx: RunContext): Promise<ModelRun> {
  const { paths } = ctx;
  const startedAt = new Date().toISOString();
  const loadSamples: number[] = [loadavg()[0]];
  const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]), 30_000);
  const has = (s: Stage) => options.stages.includes(s);
  const files = modelFiles(paths, options.model, options.dtype);
  const shape = resolveLlamaShape(files.config);
  const prompts = await PromptBuilder.open(paths.models, options.model);
  const server = await startBenchServer(paths);
  const bench: BenchModel = { key: `bench:${options.model}`, label: options.model, baseUrl: `${server.url}/models/${options.model}/`, dtype: options.dtype };
  const run: ModelRun = {
    model: options.model,
    dtype: options.dtype,
    startedAt,
    finishedAt: '',
    options,
    page: null,
    load: { cores: cpus().length, samples: loadSamples, min: 0, max: 0, mean: 0 },
    model_files: { bytes: files.bytes, graphBytes: files.graphBytes, files: files.files },
    devices: [],
    caveats: [],
    errors: {},
  };
  const profiles: string[] = [];
  const launch = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hanmadi-bench-profile-'));
    profiles.push(dir);
    return chromium.launchPersistentContext(dir, {
      executablePath: ctx.chromiumPath,
      headless: true,
      // Eager memory measurement: measureUserAgentSpecificMemory answers at once instead of at the next GC.
      args: ['--enable-unsafe-webgpu', '--enable-blink-features=ForceEagerMeasureMemory', ...CHROMIUM_ARGS],
    });
  };

  // Prompts first: a prompt that cannot be built fails before any browser work.
  const prefillPrompts = options.prefill.map((n, i) => prompts.prompt(n, [], i));
  const decodePrompt = prompts.prompt(options.decodePrompt, [], 3);
  const historyPrompt = options.history > 0 ? prompts.prompt(options.history, [], 5) : null;

  try {
    for (const [index, device] of options.devices.entries()) {
      const context = await launch();
      try {
        const page = await openPage(context, server.url);
        if (index === 0) {
          run.page = await call(page, 'info');
          log(`page: ${run.page.adapter ? `${run.page.adapter.vendor} ${run.page.adapter.architecture}` : 'no WebGPU'}, cross-origin isolated ${run.page.crossOriginIsolated}, memory ${run.page.memoryMethod}`);
          if (has('roofline') && run.page.adapter) {
            await stage(run.errors, 'bandwidth', async () => {
              const b = await call(page, 'readBandwidth', { maxBytes: 256 * 2 ** 20, targetMs: 2000, repetitions: Math.max(3, options.reps) });
              run.bandwidth = { gbPerSecond: summarize(b.gbPerSecond), bufferBytes: b.bufferBytes, dispatches: b.dispatchesPerRepetition };
              log(`read bandwidth: ${b.gbPerSecond.map((x) => x.toFixed(2)).join(', ')} GB/s`);
            });
          }
          if (has('download')) await stage(run.errors, 'download', () => downloadStage(page, run, bench, options, server.url));
        }
        const small = device === 'webgpu' && isCpuAdapter(run.page?.adapter) ? options.cpuAdapterPlan : null;
        if (small) {
          const prefillSmall = small.prefill.map((n, i) => prefillPrompts.find((x) => x.tokens === n) ?? prompts.prompt(n, [], i));
          const historySmall = small.history > 0 ? (small.history === options.history ? historyPrompt : prompts.prompt(small.history, [], 5)) : null;
          log(`webgpu on a CPU adapter: reps ${small.reps}, prefill ${small.prefill.join(',')}, decode ${small.decode.join(',')}, history ${small.history}`);
          const d = await deviceStages(page, device, bench, { ...options, reps: small.reps, decode: small.decode }, { prefillPrompts: prefillSmall, decodePrompt, historyPrompt: historySmall, prompts });
          run.devices.push({ ...d, plan: small });
        } else {
          run.devices.push(await deviceStages(page, device, bench, options, { prefillPrompts, decodePrompt, historyPrompt, prompts }));
        }
      } finally {
        await context.close();
      }
    }
    const { gguf } = ctx;
    if (has('peer') && gguf) {
      const context = await launch();
      try {
        await stage(run.errors, 'peer', async () => {
          run.peer = await peerStages(context, server.url, gguf, options, { prefillPrompts, decodePrompt, historyPrompt, prompts });
        });
      } finally {
        await context.close();
      }
    }
  } finally {
    clearInterval(loadTimer);
    loadSamples.push(loadavg()[0]);
    await server.close();
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
  }

  if (has('roofline') && run.bandwidth?.gbPerSecond) {
    run.roofline = {};
    const cpuAdapter = isCpuAdapter(run.page?.adapter);
    for (const dev of run.devices) {
      // The probe measures the adapter's memory: it bounds WASM (CPU) decoding only when the
      // adapter is itself the CPU; against a discrete GPU's bandwidth the fraction means nothing.
      if (dev.device === 'wasm' && !cpuAdapter) continue;
      for (const [n, d] of Object.entries(dev.decode ?? {})) {
        if (!d.tokensPerSecond) continue;
        const bytes = decodeStepBytes(shape, options.dtype, files.graphBytes, d.contextTokens);
        const r = roofline(run.bandwidth.gbPerSecond.median * 1e9, bytes.total, d.tokensPerSecond.median);
        run.roofline[`${dev.device} ${n}`] = { device: dev.device, contextTokens: d.contextTokens, weightBytes: bytes.weights, kvBytes: bytes.kv, bytesPerStep: bytes.total, boundTokensPerSecond: r.boundTokensPerSecond, measuredTokensPerSecond: d.tokensPerSecond.median, fractionOfBound: r.fractionOfBound };
      }
    }
  }
  if (run.peer) run.comparison = compare(run.devices, run.peer);
  run.caveats = caveats(run);
  const ls = loadSamples;
  run.load = { cores: cpus().length, samples: ls.map((x) => Math.round(x * 100) / 100), min: Math.min(...ls), max: Math.max(...ls), mean: ls.reduce((a, b) => a + b, 0) / ls.length };
  run.finishedAt = new Date().toISOString();
  return run;
}

async function downloadStage(page: Page, run: ModelRun, bench: BenchModel, options: BenchOptions, origin: string): Promise<void> {
  const urls = run.model_files.files.map((f) => `${origin}/models/${options.model}/${f}`);
  const cold: number[] = [];
  const server: number[] = [];
  const downloaded: number[] = [];
  let bytes = 0;
  for (let r = 0; r < options.downloadReps; r++) {
    // Alternating, so neither side always runs on a warmer page cache or a quieter machine.
    const fetchPlain = async () => {
      const plain = await call(page, 'fetchFiles', urls);
      server.push(perSecond(plain.bytes, plain.ms));
    };
    if (r % 2 === 0) await fetchPlain();
    const d = await call(page, 'coldDownload', bench);
    if (r % 2 === 1) await fetchPlain();
    bytes = d.bytes;
    downloaded.push(d.downloadedBytes);
    cold.push(perSecond(d.bytes, d.ms));
    log(`download ${r + 1}/${options.downloadReps}: store ${(cold.at(-1)! / 2 ** 20).toFixed(1)} MiB/s, plain fetch ${(server.at(-1)! / 2 ** 20).toFixed(1)} MiB/s`);
  }
  const coldSummary = summarize(cold);
  const serverSummary = summarize(server);
  run.download = { bytes, coldBytesPerSecond: coldSummary, serverBytesPerSecond: serverSummary, coldOverServer: ratioOfMedians(coldSummary, serverSummary), downloadedBytes: downloaded };
}

interface Prompts {
  prefillPrompts: BenchPrompt[];
  decodePrompt: BenchPrompt;
  historyPrompt: BenchPrompt | null;
  prompts: PromptBuilder;
}

async function deviceStages(page: Page, device: BenchDevice, bench: BenchModel, options: BenchOptions, p: Prompts): Promise<DeviceRun> {
  const has = (s: Stage) => options.stages.includes(s);
  const out: DeviceRun = { device, errors: {} };
  const engineDevice = device === 'wasm' ? 'wasm' : 'auto';
  await stage(out.errors, 'ensure', async () => void (await call(page, 'ensureStored', bench)));
  if (out.errors.ensure) return out;

  if (has('load')) {
    await stage(out.errors, 'load', async () => {
      const store: { ms: number; memory: MemoryPeak | null }[] = [];
      const cacheApi: { ms: number; memory: MemoryPeak | null }[] = [];
      await call(page, 'clearCacheApi');
      // The baseline's first load fetches the files into the Cache API: a cold load, recorded apart.
      const cold = await call(page, 'load', bench, { files: 'cache-api', device: engineDevice, memorySampleMs: 0 });
      await call(page, 'unload');
      log(`${device} load: Cache API cold (download + load) ${(cold.ms / 1000).toFixed(1)} s`);
      for (let r = 0; r < options.loadReps; r++) {
        for (const files of r % 2 === 0 ? (['store', 'cache-api'] as const) : (['cache-api', 'store'] as const)) {
          const sample = await call(page, 'load', bench, { files, device: engineDevice, memorySampleMs: options.memorySampleMs });
          await call(page, 'unload');
          if (device === 'webgpu' && sample.result.device !== 'webgpu') throw new Error(`WebGPU was asked for but the engine ran on ${sample.result.device} (${sample.result.fallbackReason ?? '?'})`);
          (files === 'store' ? store : cacheApi).push({ ms: sample.ms, memory: sample.memory });
          log(`${device} load ${r + 1}/${options.loadReps} from ${files}: ${(sample.ms / 1000).toFixed(1)} s${sample.memory ? `, peak memory ${(sample.memory.peakBytes / 2 ** 20).toFixed(0)} MiB` : ''}`);
        }
      }
      const s = loadSummary(store);
      const c = loadSummary(cacheApi);
      out.load = { store: s, cacheApi: c, cacheApiColdMs: cold.ms, storeOverCacheApi: ratioOfMedians(s.summary, c.summary) };
    });
  }

  if (!['prefill', 'decode', 'turn'].some((s) => has(s as Stage)) && !(has('roofline') && device === 'webgpu')) return out;
  const loaded = await call(page, 'load', bench, { files: 'store', device: engineDevice, memorySampleMs: 0 });
  out.loaded = { device: loaded.result.device, dtype: loaded.result.dtype, loadMs: loaded.result.loadMs, ...(loaded.result.fallbackReason ? { fallbackReason: loaded.result.fallbackReason } : {}) };
  if (device === 'webgpu' && loaded.result.device !== 'webgpu') {
    out.errors.device = `WebGPU was asked for but the engine ran on ${loaded.result.device} (${loaded.result.fallbackReason ?? '?'})`;
    return out;
  }
  const kv = new Set<string>();
  const generate = async (messages: ChatMessage[], maxNewTokens: number): Promise<GenerateSample> => {
    const g = await call(page, 'generate', messages, maxNewTokens);
    // A prompt cut to fit the context window would measure a shorter prompt than asked for.
    if (g.result.context.droppedTurns > 0) throw new Error(`the engine dropped ${g.result.context.droppedTurns} turn(s) to fit its ${g.result.context.window}-token window`);
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
          log(`${device} prefill ${s.promptTokens} tokens ${r + 1}/${options.reps}: first token after ${(s.timeToFirstTokenMs / 1000).toFixed(2)} s (${s.prefillTokensPerSecond.toFixed(1)} tok/s)`);
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
          log(`${device} decode ${n} ${r + 1}/${options.reps}: ${s.decodeTokens} tokens at ${s.decodeTokensPerSecond.toFixed(2)} tok/s (${g.result.finishReason})`);
        }
        // The mean context over the decoded tokens: what the KV cache holds halfway through.
        const contextTokens = Math.round(p.decodePrompt.tokens + Math.min(...counts) / 2);
        out.decode![String(n)] = { decodeTokens: counts, finishReasons: reasons, tokensPerSecond: summarize(speed), contextTokens };
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
        log(`${device} turn ${r + 1}/${options.reps} (${b.result.stats.promptTokens} tokens, ${a.result.stats.reusedTokens} cached): first token ${(a.result.stats.timeToFirstTokenMs / 1000).toFixed(2)} s with reuse, ${(b.result.stats.timeToFirstTokenMs / 1000).toFixed(2)} s without`);
      }
      const w = summarize(withReuse);
      const wo = summarize(without);
      out.turn = { reusedTokens: reused, promptTokens, withReuseMs: w, withoutReuseMs: wo, withOverWithout: ratioOfMedians(w, wo) };
    });
  }
  out.kvLocation = [...kv];
  await call(page, 'unload');
  return out;
}

async function peerStages(context: BrowserContext, origin: string, gguf: string, options: BenchOptions, p: Prompts): Promise<PeerRun> {
  const longest = Math.max(...options.prefill, p.decodePrompt.tokens + Math.max(...options.decode), p.historyPrompt ? p.historyPrompt.tokens + (options.turnMessage + 16) * (options.reps + 1) : 0);
  const nCtx = options.peerContext || 256 * Math.ceil((longest + 64) / 256);
  // llama.cpp on the CPU (docs/gguf.md: on SwiftShader its worker gets no adapter anyway); F16 KV cache, its default.
  const params = { n_ctx: nCtx, n_threads: options.peerThreads, n_gpu_layers: 0, n_batch: 2048 };
  const url = `${origin}/gguf/${gguf}`;
  const out: PeerRun = { engine: 'wllama', ggufBytes: 0, threads: 0, multithread: false, gpu: false, contextTokens: nCtx, utf8Failures: [], errors: {} };
  out.ggufBytes = Number((await fetch(url, { method: 'HEAD' })).headers.get('content-length'));
  let page = await openPage(context, origin);
  const loads: { ms: number; memory: MemoryPeak | null }[] = [];
  // Load 0 downloads into wllama's cache (OPFS) and loads: cold. The rest load from OPFS in a fresh page each.
  for (let r = 0; r <= options.loadReps; r++) {
    if (r > 0) page = await openPage(context, origin);
    const l = await call(page, 'peerLoad', { url, params, memorySampleMs: r === 0 ? 0 : options.memorySampleMs });
    Object.assign(out, { threads: l.threads, multithread: l.multithread, gpu: l.gpu, engine: `wllama (llama.cpp ${l.libllama})` });
    if (r === 0) out.coldLoadMs = l.ms;
    else loads.push({ ms: l.ms, memory: l.memory });
    log(`wllama load ${r === 0 ? 'cold (download into OPFS + load)' : `${r}/${options.loadReps} from OPFS`}: ${(l.ms / 1000).toFixed(1)} s, ${l.threads} thread(s)`);
    if (r < options.loadReps) await call(page, 'peerExit');
  }
  out.load = loadSummary(loads);
  const complete = async (prompt: string, maxTokens: number, cachePrompt: boolean): Promise<PeerCompletion> => {
    const c = await call(page, 'peerComplete', { prompt, maxTokens, cachePrompt });
    out.utf8Failures.push(...c.failedAttempts);
    return c;
  };

  if (options.stages.includes('prefill')) {
    out.prefill = {};
    for (const prompt of p.prefillPrompts) {
      await stage(out.errors, `prefill ${prompt.tokens}`, async () => {
        const ttft: number[] = [];
        const speed: number[] = [];
        const native: number[] = [];
        const tokens: number[] = [];
        for (let r = 0; r < options.reps; r++) {
          const c = await complete(prompt.text, 1, false);
          if (c.promptTokens !== prompt.tokens) throw new Error(`llama.cpp counted ${c.promptTokens} prompt tokens, ours ${prompt.tokens}`);
          const first = c.firstChunkMs ?? c.wallMs;
          tokens.push(c.promptTokens);
          ttft.push(first);
          speed.push((c.promptTokens * 1000) / first);
          native.push(c.timings.prompt_per_second);
          log(`wllama prefill ${c.promptTokens} tokens ${r + 1}/${options.reps}: first token after ${(first / 1000).toFixed(2)} s (llama.cpp: ${c.timings.prompt_per_second.toFixed(1)} tok/s)`);
        }
        out.prefill![String(prompt.tokens)] = { promptTokens: tokens, ttftMs: summarize(ttft), tokensPerSecond: summarize(speed), nativePrefillTokensPerSecond: summarize(native) };
      });
    }
  }
  if (options.stages.includes('decode')) {
    out.decode = {};
    for (const n of options.decode) {
      await stage(out.errors, `decode ${n}`, async () => {
        const speed: number[] = [];
        const counts: number[] = [];
        for (let r = 0; r < options.reps; r++) {
          const c = await complete(p.decodePrompt.text, n, false);
          // llama.cpp starts its generation clock when the first token is sampled (right after the
          // prefill) yet counts that token in predicted_per_second: n tokens over n - 1 steps. Ours
          // is (generated - 1) / decode time, so the same is computed here from n and the time.
          const steps = c.timings.predicted_n - 1;
          speed.push(steps > 0 ? (steps * 1000) / c.timings.predicted_ms : Number.NaN);
          counts.push(steps);
          log(`wllama decode ${n} ${r + 1}/${options.reps}: ${steps} decode steps at ${speed.at(-1)!.toFixed(2)} tok/s`);
        }
        out.decode![String(n)] = { decodeTokens: counts, tokensPerSecond: summarize(speed) };
      });
    }
  }
  if (options.stages.includes('turn') && p.historyPrompt) {
    await stage(out.errors, 'turn', async () => {
      const history = p.historyPrompt!;
      await complete(history.text, 4, true); // fills the peer's prompt cache
      const withReuse: number[] = [];
      const without: number[] = [];
      const cached: number[] = [];
      let messages: ChatMessage[] = [...history.messages, { role: 'assistant', content: 'ok' }];
      for (let r = 0; r < options.reps; r++) {
        messages = [...messages, { role: 'user', content: p.prompts.contentOf(options.turnMessage, 11 * (r + 1)) }];
        const text = p.prompts.withText(messages).text;
        const a = await complete(text, 1, true);
        const b = await complete(text, 1, false);
        // As for ours (the engine refuses it): a reuse run that reused nothing measures nothing.
        if (a.timings.cache_n === 0 || b.timings.cache_n !== 0) throw new Error(`wllama's prompt cache was not used as asked (cached ${a.timings.cache_n} with reuse, ${b.timings.cache_n} without).`);
        withReuse.push(a.firstChunkMs ?? a.wallMs);
        without.push(b.firstChunkMs ?? b.wallMs);
        cached.push(a.timings.cache_n);
        messages = [...messages, { role: 'assistant', content: 'ok' }];
        log(`wllama turn ${r + 1}/${options.reps} (${a.promptTokens} tokens, ${a.timings.cache_n} cached): ${(withReuse.at(-1)! / 1000).toFixed(2)} s with reuse, ${(without.at(-1)! / 1000).toFixed(2)} s without`);
      }
      const w = summarize(withReuse);
      const wo = summarize(without);
      out.turn = { cachedTokens: cached, withReuseMs: w, withoutReuseMs: wo, withOverWithout: ratioOfMedians(w, wo) };
    });
  }
  await call(page, 'peerExit');
  return out;
}

function compare(devices: DeviceRun[], peer: PeerRun): ModelRun['comparison'] {
  const out: NonNullable<ModelRun['comparison']> = {};
  for (const d of devices) {
    const prefillSpeed: Record<string, number | null> = {};
    for (const [n, v] of Object.entries(d.prefill ?? {})) prefillSpeed[n] = ratioOfMedians(v.tokensPerSecond, peer.prefill?.[n]?.tokensPerSecond);
    const decodeSpeed: Record<string, number | null> = {};
    for (const [n, v] of Object.entries(d.decode ?? {})) decodeSpeed[n] = ratioOfMedians(v.tokensPerSecond, peer.decode?.[n]?.tokensPerSecond);
    out[d.device] = { loadTimeOursOverPeer: ratioOfMedians(d.load?.store.summary, peer.load?.summary), prefillSpeed, decodeSpeed };
  }
  return out;
}

/** A WebGPU adapter that is a CPU implementation (SwiftShader, llvmpipe/lavapipe): its "GPU" is this machine's CPU. */
export const CPU_ADAPTER = /swiftshader|llvmpipe|lavapipe/i;
const isCpuAdapter = (adapter: PageInfo['adapter'] | undefined) => !!adapter && CPU_ADAPTER.test(`${adapter.vendor} ${adapter.architecture} ${adapter.description}`);

function caveats(run: ModelRun): string[] {
  const out: string[] = [];
  const adapter = run.page?.adapter;
  if (adapter && /swiftshader/i.test(`${adapter.vendor} ${adapter.architecture} ${adapter.description}`)) {
    out.push('WebGPU here is SwiftShader, a CPU implementation of Vulkan: "GPU" numbers are CPU numbers through a GPU API and say nothing about a real GPU.');
  }
  if (run.peer) {
    out.push(`wllama runs llama.cpp on the CPU (WebAssembly, ${run.peer.threads} thread(s), ${run.peer.multithread ? 'multi' : 'single'}-thread build) with its F16 KV cache; our WebGPU numbers compare a GPU API against a CPU — the WASM rows are the like-for-like CPU comparison (ONNX Runtime Web, its default thread count).`);
    out.push('Loads differ in what "ready" means: ours includes creating the ONNX Runtime session and a one-token warm-up forward pass (shader compilation); wllama\'s ends when llama.cpp has mapped the weights and made its context.');
    out.push('wllama decodes with ignore_eos (always the asked-for count); ours stops at an end-of-turn token (the counts are in the results).');
  }
  if (run.load.max > run.load.cores) out.push(`The machine was busy: the 1-minute load average reached ${run.load.max.toFixed(1)} on ${run.load.cores} cores during the run (other jobs share them); compare ratios from one run rather than absolute numbers across runs.`);
  return out;
}
