/**
 * Smoke of the benchmark (`npm run bench`, tools/bench.ts) so its page cannot rot: the bench page
 * is built alone (vite --mode bench, into a temporary folder) and driven through every stage with
 * the tiny model and the smallest counts — our engine on WASM (WebGPU's stages are the real bench's
 * job: a load alone costs ~20 s on SwiftShader), one WebGPU decode for its per-step structural
 * counters, the lm_head alone on both providers (its share of a step), the in-browser conversion
 * of its checkpoint from the mock Hub, the WGSL bandwidth probe
 * on the page's adapter, and the wllama peer on the GGUF our converter writes. Every stage must
 * produce numbers and no step may fail.
 * Backend: WASM for our engine's stages and the wllama peer; WebGPU (SwiftShader here) for one
 * decode of two tokens, whose step is counted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { convertCheckpointToGguf } from '../src/converter/gguf.ts';
import { renderRun } from '../tools/lib/bench-report.ts';
import { runModelBench } from '../tools/lib/bench-run.ts';
import { STAGES, type BenchOptions } from '../tools/lib/bench-types.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';

// One retry: a load from the store sometimes never settles (the page idle; seen in this smoke after
// a Cache API load, in storage.spec.ts right after a download, and every time at kanana-2.1b-shape;
// not diagnosed, open in issue 15). The retry keeps the smoke about the bench not rotting;
// Playwright reports it as flaky.
test.describe.configure({ retries: 1 });

const root = join(import.meta.dirname, '..');
const MODEL = 'tiny-llama';
let temp: string;

test.beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'hanmadi-bench-smoke-'));
  const build = spawnSync('npx', ['vite', 'build', '--mode', 'bench', '--outDir', join(temp, 'page'), '--emptyOutDir', '--logLevel', 'error'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`vite build --mode bench failed:\n${build.stdout}\n${build.stderr}`);
  const out = await directoryWriter(temp).openOutput(`${MODEL}-q4_0.gguf`);
  await convertCheckpointToGguf(directoryReader(join(root, 'fixtures', 'checkpoints', MODEL)), out, { type: 'q4_0', name: MODEL });
});

test.afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

test('the bench page runs every stage with the tiny model and reports numbers', async () => {
  const options: BenchOptions = {
    model: MODEL,
    dtype: 'q4',
    stages: [...STAGES],
    devices: ['wasm', 'webgpu'],
    reps: 1,
    loadReps: 1,
    downloadReps: 1,
    prefill: [24],
    decode: [4],
    decodePrompt: 16,
    history: 40,
    turnMessage: 8,
    peerThreads: 1,
    peerContext: 0,
    threads: 1,
    memorySampleMs: 500,
    // WebGPU on SwiftShader: one decode of 2 tokens (a prefill, then one counted step).
    cpuAdapterPlan: { reps: 1, prefill: [], decode: [2], history: 0, stages: ['decode'] },
    reductions: ['smoke test: the smallest counts'],
  };
  const run = await runModelBench(options, {
    paths: { page: join(temp, 'page'), models: join(root, 'fixtures', 'models'), gguf: temp },
    chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    gguf: { file: `${MODEL}-q4_0.gguf`, type: 'q4_0' },
    checkpoint: join(root, 'fixtures', 'checkpoints', MODEL),
  });

  const wasm = run.devices.find((d) => d.device === 'wasm');
  const webgpu = run.devices.find((d) => d.device === 'webgpu');
  expect({ run: run.errors, wasm: wasm?.errors, webgpu: webgpu?.errors, peer: run.peer?.errors }).toEqual({ run: {}, wasm: {}, webgpu: {}, peer: {} });
  expect(run.page?.crossOriginIsolated).toBe(true);
  // Download: the store holds the whole model, its weights fetched by the store worker (config.json comes first, apart).
  expect(run.download?.bytes).toBe(run.model_files.bytes);
  expect(run.download?.downloadedBytes[0]).toBeGreaterThanOrEqual(run.model_files.graphBytes);
  expect(run.download?.coldBytesPerSecond?.median).toBeGreaterThan(0);
  // The in-browser conversion from the mock Hub: the whole checkpoint read, q4 stored, against a plain fetch.
  expect(run.conversion?.sourceBytes).toBeGreaterThan(0);
  expect(run.conversion?.storedBytes).toBeGreaterThan(0);
  expect(run.conversion?.overPlainFetch).toBeGreaterThan(0);
  expect(run.conversion?.peakBytes).toBeGreaterThanOrEqual(run.conversion?.baselineBytes ?? Infinity);
  // Loads from both sources, on the device asked for.
  expect(wasm?.loaded?.device).toBe('wasm');
  expect(wasm?.load?.store.summary?.median).toBeGreaterThan(0);
  expect(wasm?.load?.cacheApi.summary?.median).toBeGreaterThan(0);
  expect(wasm?.load?.storeOverCacheApi).toBeGreaterThan(0);
  // Where a load's time went, from the engine: the tokenizer and the session overlap, the steps fit in the load.
  const phases = wasm?.load?.store.phasesMs?.[0];
  expect(phases?.session).toBeGreaterThan(0);
  expect(phases?.tokenizer).toBeGreaterThan(0);
  expect(phases?.warmUp).toBeGreaterThan(0);
  // A store load checks every chunk ONNX Runtime read: that ends after the session exists.
  expect(phases?.verify).toBeGreaterThanOrEqual(phases!.session);
  expect(phases!.adapter + phases!.files + Math.max(phases!.verify, phases!.tokenizer) + phases!.warmUp).toBeLessThanOrEqual(wasm!.load!.store.ms[0]);
  // Memory: the load's peak against the model, and what an unload leaves behind.
  expect(run.comparison?.wasm?.loadPeakOverModelBytes).toBeGreaterThan(0);
  expect(wasm?.load?.afterUnloadOverBaseline?.median).toBeGreaterThan(0);
  // Prompts of exactly the asked-for length, for both engines.
  expect(wasm?.prefill?.['24']?.promptTokens).toEqual([24]);
  expect(run.peer?.prefill?.['24']?.promptTokens).toEqual([24]);
  expect(wasm?.decode?.['4']?.tokensPerSecond?.median).toBeGreaterThan(0);
  expect(run.peer?.decode?.['4']?.tokensPerSecond?.median).toBeGreaterThan(0);
  expect(run.peer?.ggufType).toBe('q4_0');
  // Turn N reused the cache (the engine throws otherwise) and the ratio is there.
  expect(wasm?.turn?.reusedTokens[0]).toBeGreaterThanOrEqual(40);
  expect(wasm?.turn?.withOverWithout).toBeGreaterThan(0);
  expect(wasm?.kvLocation).toEqual(['cpu']);
  // Roofline: the WGSL probe measured a bandwidth, and the decode is placed under its bound.
  if (run.page?.adapter) {
    expect(run.bandwidth?.gbPerSecond?.median).toBeGreaterThan(0);
    expect(run.roofline?.['wasm 4']?.boundTokensPerSecond).toBeGreaterThan(0);
  }
  expect(run.comparison?.wasm?.decodeSpeed['4']).toBeGreaterThan(0);
  // The decode after the turn stage's history, against the one after the short prompt.
  expect(wasm?.decodeLong?.contextTokens).toBeGreaterThanOrEqual(40);
  expect(run.comparison?.wasm?.decodeLongOverShort).toBeGreaterThan(0);
  // A WebGPU decode step's structure, counted in the worker: present, and counting.
  expect(webgpu?.loaded?.device).toBe('webgpu');
  expect(webgpu?.perStep?.steps).toBeGreaterThanOrEqual(1);
  expect(webgpu?.perStep?.dispatches).toBeGreaterThanOrEqual(1);
  expect(webgpu?.perStep?.readbacks).toBeGreaterThanOrEqual(1);
  for (const counter of ['submits', 'bufferCreations', 'pipelineCompiles'] as const) expect(webgpu?.perStep?.[counter]).toBeGreaterThanOrEqual(0);
  // The lm_head alone on each device's provider, against that device's decode step: a share of it.
  for (const device of [wasm, webgpu]) {
    expect(device?.lmHead?.weightBytes).toBeGreaterThan(0);
    expect(device?.lmHead?.ms?.median).toBeGreaterThan(0);
    expect(device?.lmHead?.shareOfStep).toBeGreaterThan(0);
  }
  const table = renderRun(run);
  expect(table).toContain('| decode, 4 new tokens | tok/s |');
  expect(table).toContain('WebGPU calls per decode step after the first token');
  expect(table).toContain('lm_head alone (128256 × 64, q4');
  expect(table).not.toContain('Failed steps');
});
