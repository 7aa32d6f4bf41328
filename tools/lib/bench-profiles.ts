/**
 * The bench's plan per model shape: tiny-llama runs the standard plan; the opt-in shapes (real
 * sizes, random weights, made on demand by tools/fixtures.ts) get counts cut to what finishes on
 * this machine's 2 shared cores, and the results say so.
 */
import type { BenchOptions, DevicePlan } from './bench-types.ts';

export interface Profile {
  plan: Partial<Pick<BenchOptions, 'reps' | 'loadReps' | 'downloadReps' | 'prefill' | 'decode' | 'decodePrompt' | 'history' | 'turnMessage' | 'devices'>>;
  /** WebGPU's plan on a CPU adapter (SwiftShader). */
  cpuAdapterPlan: DevicePlan;
  /** Why the plan is reduced (said in the results). */
  why?: string;
  /** Opt-in fixtures are big: generated on demand and removed after the run. */
  optIn: boolean;
  /** The same widths at another depth, for WebGPU's dispatches per layer (BenchOptions.depthProbe). */
  depthProbe?: string;
}

/**
 * The Kanana shape is 2.1B parameters: on SwiftShader (WebGPU on the CPU) one decoded token costs
 * ~25-30 s and llama.cpp on one core is not much faster, so its counts are cut to what finishes in
 * about an hour here. The Llama 3.2 3B shape (3.2B, half again as many weights per token) takes
 * the same counts, and WebGPU too, reduced to two tokens on a CPU adapter: what binds at 3B
 * (buffer limits, KV and device memory) shows up at load on WebGPU, not on WASM.
 */
export const PROFILES: Record<string, Profile> = {
  // SwiftShader: ~20 s per load, ~0.1-0.25 tok/s decode, prefill ~1-5 tok/s on 2 busy cores.
  'tiny-llama': { plan: {}, cpuAdapterPlan: { reps: 2, prefill: [128], decode: [6], history: 256 }, optIn: false, depthProbe: 'tiny-llama-4l' },
  'kanana-2.1b-shape': {
    plan: { reps: 1, loadReps: 1, downloadReps: 1, prefill: [128], decode: [8], decodePrompt: 16, history: 128, turnMessage: 8, devices: ['wasm'] },
    cpuAdapterPlan: { reps: 1, prefill: [16], decode: [2], history: 0 },
    why: 'a 2.1B model costs ~25-30 s per decoded token on SwiftShader (WebGPU emulated on 2 shared CPU cores), so it runs on WASM only by default, with one run per step',
    optIn: true,
  },
  // Kanana's widths and vocabulary with 4 of its 32 layers (made in about a minute): ~0.46B
  // weights per token against 2.1B, so WebGPU runs on SwiftShader too, a few tokens.
  'kanana-2.1b-4l': {
    plan: { reps: 1, loadReps: 1, downloadReps: 1, prefill: [128], decode: [8], decodePrompt: 16, history: 128, turnMessage: 8, devices: ['wasm', 'webgpu'] },
    cpuAdapterPlan: { reps: 1, prefill: [16], decode: [3], history: 0 },
    why: 'Kanana widths at 4 layers still cost seconds per decoded token on SwiftShader (WebGPU emulated on 2 shared CPU cores), so every step runs once and WebGPU there decodes 3 tokens after a 16-token prompt',
    optIn: true,
    depthProbe: 'kanana-2.1b-2l',
  },
  'llama-3.2-3b-shape': {
    plan: { reps: 1, loadReps: 1, downloadReps: 1, prefill: [128], decode: [8], decodePrompt: 16, history: 128, turnMessage: 8, devices: ['wasm', 'webgpu'] },
    cpuAdapterPlan: { reps: 1, prefill: [16], decode: [2], history: 0 },
    why: 'a 3.2B model costs well over 30 s per decoded token on SwiftShader (WebGPU emulated on 2 shared CPU cores), so WebGPU there runs a 16-token prompt and 2 new tokens once, and every step runs once',
    optIn: true,
  },
};

/** A model's profile; a model not listed runs the standard plan (with tiny-llama's CPU-adapter plan). */
export function profileOf(model: string): Profile {
  return PROFILES[model] ?? { plan: {}, cpuAdapterPlan: PROFILES['tiny-llama'].cpuAdapterPlan, optIn: false };
}
