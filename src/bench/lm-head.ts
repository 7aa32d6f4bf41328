/**
 * Times the lm_head alone (lm-head-graph.ts) on the execution provider a device of ours runs: the
 * same ONNX Runtime build the LLM worker installs, on this page, with a WebGPU device of the same
 * request (acquireWebGpu) and outputs left on the GPU, as the engine does. A decode step's share
 * of it is the driver's division (tools/lib/bench-device.ts).
 *
 * Each sample is runs back to back for about SAMPLE_MS (one where a run takes longer), then the
 * last one's logits read back: on WebGPU that waits for all of them, so a sample's time per run is
 * the head's steady cost in a step (one readback amortized), not one submit's latency. Runs here, not in a worker: the engine's worker
 * is unloaded meanwhile, and this page is the bench's own.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { toFloat16 } from '../lib/float16.ts';
import type { GraphDtype } from '../model/graph-format.ts';
import { createRng } from '../model/rng.ts';
import { acquireWebGpu } from '../worker/gpu.ts';
import { installOrtRuntime, ort } from '../worker/ort-runtime.ts';
import type { LmHeadOptions, LmHeadTiming } from './bench-api.ts';
import { lmHeadGraph } from './lm-head-graph.ts';

/** A sample lasts about this long, so short heads are not timed one run (and one readback) at a time. */
const SAMPLE_MS = 300;
const MAX_RUNS = 32;

// ONNX Runtime's WebGPU EP keeps to the device it is first given: one for the page's timings.
let pageGpu: Promise<GPUDevice> | null = null;
function gpuDevice(): Promise<GPUDevice> {
  pageGpu ??= acquireWebGpu('webgpu').then((gpu) => {
    if (!gpu.ok) throw new Error(`no WebGPU device for the lm_head timing: ${gpu.reason}`);
    return gpu.device;
  });
  return pageGpu;
}

export async function timeLmHead(options: LmHeadOptions): Promise<LmHeadTiming> {
  await installOrtRuntime();
  const runtime = ort();
  // Takes effect with the first session on this page (ONNX Runtime starts its WASM once).
  if (options.threads) runtime.env.wasm.numThreads = options.threads;
  const head = lmHeadGraph({ hiddenSize: options.hiddenSize, vocabSize: options.vocabSize }, options.dtype as GraphDtype);
  const device = options.device === 'webgpu' ? await gpuDevice() : null;
  const sessionOptions: InferenceSession.SessionOptions = {
    executionProviders: device ? [{ name: 'webgpu', device } as InferenceSession.ExecutionProviderConfig] : ['wasm'],
    ...(device ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
    logSeverityLevel: 3,
  };
  const createStarted = performance.now();
  const session = await runtime.InferenceSession.create(head.model, sessionOptions);
  const createMs = performance.now() - createStarted;
  try {
    const rng = createRng(5);
    const values = Float32Array.from({ length: options.hiddenSize }, () => rng.normal());
    const dims = [1, 1, options.hiddenSize];
    const hidden = head.inputType === 'float16' ? new runtime.Tensor('float16', toFloat16(values), dims) : new runtime.Tensor('float32', values, dims);
    /** `runs` runs, then the last one's logits read back; ms per run. */
    const timed = async (runs: number) => {
      const outputs: Tensor[] = [];
      const started = performance.now();
      for (let r = 0; r < runs; r++) outputs.push((await session.run({ hidden })).logits);
      const logits = (await outputs[runs - 1].getData()) as Float32Array;
      const ms = (performance.now() - started) / runs;
      for (const output of outputs) output.dispose();
      if (logits.length !== options.vocabSize || !Number.isFinite(logits[0])) throw new Error(`the lm_head gave ${logits.length} logits, first ${logits[0]}`);
      return ms;
    };
    // The first run compiles (shaders, WASM kernels' first use): its time sizes the samples.
    const firstMs = await timed(1);
    const runs = Math.min(MAX_RUNS, Math.max(1, Math.ceil(SAMPLE_MS / (await timed(1)))));
    const msPerRun: number[] = [];
    for (let s = 0; s < options.samples; s++) msPerRun.push(await timed(runs));
    return { msPerRun, runsPerSample: runs, firstRunMs: firstMs, createMs, weightBytes: head.weightBytes };
  } finally {
    await session.release();
  }
}
