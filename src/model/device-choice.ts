/**
 * Which device a model runs on, decided the same way by the page (to pick the precision and judge
 * the fit before a download) and by the engine worker (to load): pure, so both agree.
 *
 * "Automatic" skips a software WebGPU adapter. Chromium exposes SwiftShader (a CPU implementation
 * of Vulkan) where no GPU is usable; there the tiny model decodes at ~0.2 tok/s on "WebGPU"
 * against ~20 tok/s on the WASM engine, so a software adapter is never the better choice. The
 * explicit GPU choice still runs on it (someone testing WebGPU, or a driver we misjudge).
 */

/** The user's "Run on" setting. */
export type DevicePreference = 'auto' | 'webgpu' | 'wasm';

/** A remembered "Run on" setting read back (from localStorage): anything unknown is Automatic. */
export function parseDevicePreference(value: string | null | undefined): DevicePreference {
  return value === 'webgpu' || value === 'wasm' ? value : 'auto';
}

/** What the adapter says about itself (GPUAdapterInfo, plus the older GPUAdapter.isFallbackAdapter). */
export interface AdapterIdentity {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/**
 * Software rasterizers that implement WebGPU on the CPU: SwiftShader (Chromium's), llvmpipe,
 * lavapipe and softpipe (Mesa), and Microsoft's Basic Render Driver (WARP).
 */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** Whether the adapter is a CPU implementation: flagged as a fallback adapter, or a known software renderer by name. */
export function isSoftwareAdapter(adapter: AdapterIdentity): boolean {
  if (adapter.isFallbackAdapter) return true;
  return [adapter.vendor, adapter.architecture, adapter.description].some((name) => !!name && SOFTWARE_RENDERER.test(name));
}

/** Why a model runs on the CPU: the user chose it, WebGPU is unusable here, or its only adapter is software. */
export type CpuReason = 'chosen' | 'no-webgpu' | 'software-adapter';

export type DeviceDecision = { device: 'webgpu' } | { device: 'wasm'; reason: CpuReason };

/** The device for a preference, given whether WebGPU has an adapter here and whether it is software. */
export function decideDevice(preference: DevicePreference, gpu: { available: boolean; software: boolean }): DeviceDecision {
  if (preference === 'wasm') return { device: 'wasm', reason: 'chosen' };
  if (!gpu.available) return { device: 'wasm', reason: 'no-webgpu' };
  if (preference === 'auto' && gpu.software) return { device: 'wasm', reason: 'software-adapter' };
  return { device: 'webgpu' };
}

/**
 * Most ONNX Runtime threads a load starts by default. Every thread is a Worker with its own stack
 * in the WebAssembly heap, and past the physical cores (hardwareConcurrency counts hyper-threads)
 * extra threads only contend; measured here at 2 cores only.
 */
export const MAX_CPU_THREADS = 8;

/**
 * ONNX Runtime's CPU threads for a load that does not ask for a number: the cores the browser
 * reports, where the page is cross-origin isolated (threads need SharedArrayBuffer), capped at
 * MAX_CPU_THREADS; one elsewhere (ONNX Runtime would fall back to one itself).
 */
export function cpuThreadCount(cores: number | undefined, crossOriginIsolated: boolean): number {
  if (!crossOriginIsolated || !cores || !Number.isFinite(cores)) return 1;
  return Math.max(1, Math.min(MAX_CPU_THREADS, Math.floor(cores)));
}
