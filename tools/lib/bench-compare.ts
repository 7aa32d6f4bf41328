/** Ours against the peer (ratios of medians from one run), and the caveats a reader needs. */
import type { PageInfo } from '../../src/bench/bench-api.ts';
import { ratioOfMedians } from '../../src/bench/stats.ts';
import { isSoftwareAdapter } from '../../src/model/device-choice.ts';
import type { DeviceRun, PeerRun, ModelRun } from './bench-types.ts';

/** Per device of ours: ratios to the peer (null without one) and to our own figures (memory, long against short context). */
export function compare(devices: DeviceRun[], peer: PeerRun | undefined): ModelRun['comparison'] {
  const out: NonNullable<ModelRun['comparison']> = {};
  for (const d of devices) {
    const prefillSpeed: Record<string, number | null> = {};
    for (const [n, v] of Object.entries(d.prefill ?? {})) prefillSpeed[n] = ratioOfMedians(v.tokensPerSecond, peer?.prefill?.[n]?.tokensPerSecond);
    const decodeSpeed: Record<string, number | null> = {};
    for (const [n, v] of Object.entries(d.decode ?? {})) decodeSpeed[n] = ratioOfMedians(v.tokensPerSecond, peer?.decode?.[n]?.tokensPerSecond);
    // The short reference: the decode run with the fewest new tokens (its cache stays nearest the short prompt).
    const shortest = Object.entries(d.decode ?? {}).sort(([a], [b]) => Number(a) - Number(b))[0]?.[1];
    out[d.device] = {
      loadTimeOursOverPeer: ratioOfMedians(d.load?.store.summary, peer?.load?.summary),
      prefillSpeed,
      decodeSpeed,
      loadPeakOverModelBytes: d.load?.peakOverModelBytes ?? null,
      decodeLongOverShort: ratioOfMedians(d.decodeLong?.tokensPerSecond, shortest?.tokensPerSecond),
    };
  }
  return out;
}

/** A WebGPU adapter that is a CPU implementation (the app's own judgment, src/model/device-choice.ts): its "GPU" is this machine's CPU. */
export const isCpuAdapter = (adapter: PageInfo['adapter'] | undefined) => !!adapter && isSoftwareAdapter(adapter);

export function caveats(run: ModelRun): string[] {
  const out: string[] = [];
  const adapter = run.page?.adapter;
  if (adapter && /swiftshader/i.test(`${adapter.vendor} ${adapter.architecture} ${adapter.description}`)) {
    out.push('WebGPU here is SwiftShader, a CPU implementation of Vulkan: "GPU" numbers are CPU numbers through a GPU API and say nothing about a real GPU.');
  }
  if (run.peer) {
    out.push(
      `wllama runs llama.cpp on the CPU (WebAssembly, ${run.peer.threads} thread(s), ${run.peer.multithread ? 'multi' : 'single'}-thread build) on a ${(run.peer.ggufType ?? 'q4_0').toUpperCase()} GGUF of the same checkpoint, with its F16 KV cache; our WebGPU numbers compare a GPU API against a CPU — the WASM rows are the like-for-like CPU comparison (ONNX Runtime Web, ${run.options.threads} thread(s), ${run.dtype}${run.dtype === 'q8' && (run.peer.ggufType ?? 'q4_0') === 'q4_0' ? ': int8 weights, twice the bytes per step of Q4_0' : ''}).`,
    );
    out.push(
      'Loads differ in what "ready" means: ours includes creating the ONNX Runtime session and a one-token warm-up forward pass (shader compilation); wllama\'s ends when llama.cpp has mapped the weights and made its context.',
    );
    out.push('wllama decodes with ignore_eos (always the asked-for count); ours stops at an end-of-turn token (the counts are in the results).');
  }
  if (run.load.max > run.load.cores)
    out.push(
      `The machine was busy: the 1-minute load average reached ${run.load.max.toFixed(1)} on ${run.load.cores} cores during the run (other jobs share them); compare ratios from one run rather than absolute numbers across runs.`,
    );
  return out;
}
