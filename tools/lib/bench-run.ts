/**
 * One benchmark run of one model: drives the bench page (src/bench/) in headless Chromium through
 * every stage and returns what it measured. Used by `npm run bench` (tools/bench.ts) and by the
 * e2e smoke (e2e/bench.spec.ts).
 *
 * Each device (WebGPU, WASM) gets a fresh browser profile, so the store and the Cache API start
 * empty and the Cache API baseline holds exactly one copy; the conversion stage and the peer get
 * one each too (an empty store; wllama's OPFS cache).
 * Steps of one kind are repeated in the same browser process and summarized (min / median /
 * max); ratios compare medians measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { CHROMIUM_ARGS } from '../../playwright.config.ts';
import type { BenchModel } from '../../src/bench/bench-api.ts';
import { decodeStepBytes, roofline } from '../../src/bench/roofline.ts';
import { ratioOfMedians, summarize } from '../../src/bench/stats.ts';
import { resolveLlamaShape } from '../../src/model/config.ts';
import { startBenchServer, type BenchPaths } from './bench-server.ts';
import { PromptBuilder } from './bench-prompts.ts';
import type { Stage, BenchOptions, ModelRun } from './bench-types.ts';
import { log, call, openPage, modelFiles, perSecond, stage } from './bench-page.ts';
import { deviceStages, type DepthProbe } from './bench-device.ts';
import { peerStages } from './bench-peer.ts';
import type { GgufWeightType } from '../../src/converter/gguf.ts';
import { conversionStage } from './bench-conversion.ts';
import { compare, isCpuAdapter, caveats } from './bench-compare.ts';

export interface RunContext {
  paths: BenchPaths;
  chromiumPath: string;
  /** The GGUF file of the model for the peer, and its weight type (null: no peer stage). */
  gguf: { file: string; type: GgufWeightType } | null;
  /** The model's safetensors checkpoint folder, for the conversion stage (null: that stage is not run). */
  checkpoint?: string | null;
}

export async function runModelBench(options: BenchOptions, ctx: RunContext): Promise<ModelRun> {
  const { paths } = ctx;
  const startedAt = new Date().toISOString();
  const loadSamples: number[] = [loadavg()[0]];
  const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]), 30_000);
  const has = (s: Stage) => options.stages.includes(s);
  const files = modelFiles(paths, options.model, options.dtype);
  const shape = resolveLlamaShape(files.config);
  const deviceModel = { bytes: files.bytes, hiddenSize: shape.hiddenSize, vocabSize: shape.vocabSize };
  const prompts = await PromptBuilder.open(paths.models, options.model);
  const server = await startBenchServer(paths);
  const benchModel = (name: string): BenchModel => ({ key: `bench:${name}`, label: name, baseUrl: `${server.url}/models/${name}/`, dtype: options.dtype });
  const bench = benchModel(options.model);
  const depthProbe: DepthProbe | null = options.depthProbe
    ? {
        bench: benchModel(options.depthProbe),
        layers: resolveLlamaShape(modelFiles(paths, options.depthProbe, options.dtype).config).numLayers,
        modelLayers: shape.numLayers,
      }
    : null;
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
          log(
            `page: ${run.page.adapter ? `${run.page.adapter.vendor} ${run.page.adapter.architecture}` : 'no WebGPU'}, cross-origin isolated ${run.page.crossOriginIsolated}, memory ${run.page.memoryMethod}`,
          );
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
          const d = await deviceStages(
            page,
            device,
            bench,
            { ...options, reps: small.reps, decode: small.decode, stages: options.stages.filter((s) => !small.stages || small.stages.includes(s)) },
            { prefillPrompts: prefillSmall, decodePrompt, historyPrompt: historySmall, prompts },
            deviceModel,
            depthProbe,
          );
          run.devices.push({ ...d, plan: small });
        } else {
          run.devices.push(await deviceStages(page, device, bench, options, { prefillPrompts, decodePrompt, historyPrompt, prompts }, deviceModel, depthProbe));
        }
      } finally {
        await context.close();
      }
    }
    const { checkpoint } = ctx;
    if (has('conversion') && checkpoint) {
      const context = await launch();
      try {
        await stage(run.errors, 'conversion', async () => {
          run.conversion = await conversionStage(context, server.url, checkpoint, options);
        });
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
        run.roofline[`${dev.device} ${n}`] = {
          device: dev.device,
          contextTokens: d.contextTokens,
          weightBytes: bytes.weights,
          kvBytes: bytes.kv,
          bytesPerStep: bytes.total,
          boundTokensPerSecond: r.boundTokensPerSecond,
          measuredTokensPerSecond: d.tokensPerSecond.median,
          fractionOfBound: r.fractionOfBound,
        };
      }
    }
  }
  run.comparison = compare(run.devices, run.peer);
  run.caveats = caveats(run);
  const ls = loadSamples;
  run.load = {
    cores: cpus().length,
    samples: ls.map((x) => Math.round(x * 100) / 100),
    min: Math.min(...ls),
    max: Math.max(...ls),
    mean: ls.reduce((a, b) => a + b, 0) / ls.length,
  };
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
    log(
      `download ${r + 1}/${options.downloadReps}: store ${(cold.at(-1)! / 2 ** 20).toFixed(1)} MiB/s, plain fetch ${(server.at(-1)! / 2 ** 20).toFixed(1)} MiB/s`,
    );
  }
  const coldSummary = summarize(cold);
  const serverSummary = summarize(server);
  run.download = {
    bytes,
    coldBytesPerSecond: coldSummary,
    serverBytesPerSecond: serverSummary,
    coldOverServer: ratioOfMedians(coldSummary, serverSummary),
    downloadedBytes: downloaded,
  };
}
