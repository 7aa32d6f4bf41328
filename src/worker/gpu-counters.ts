/**
 * Counts the WebGPU calls that show a decode step's structure, for the benchmark: compute
 * dispatches, queue submits, buffer creations, pipeline compiles and readbacks (buffer maps). The
 * prototypes are wrapped in the worker that owns the device, so ONNX Runtime's calls are counted
 * with ours. Only a load that asks for it (LoadSpec.countGpuCalls) installs the wrappers; the app
 * never does.
 */
import type { GpuCallCounts } from './protocol.ts';

const counts: GpuCallCounts = { dispatches: 0, submits: 0, bufferCreations: 0, pipelineCompiles: 0, readbacks: 0 };
let installed = false;

function wrap<T extends object>(proto: T | undefined, name: keyof T & string, key: keyof GpuCallCounts): void {
  if (!proto) return;
  const original = proto[name] as unknown as (...args: unknown[]) => unknown;
  if (typeof original !== 'function') return;
  Object.defineProperty(proto, name, {
    configurable: true,
    writable: true,
    value(this: unknown, ...args: unknown[]) {
      counts[key]++;
      return original.apply(this, args);
    },
  });
}

/** Starts counting (once per worker; before the device is created, so nothing is missed). */
export function countGpuCalls(): void {
  if (installed || typeof GPUDevice === 'undefined') return;
  installed = true;
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches');
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', 'dispatches');
  wrap(GPUQueue.prototype, 'submit', 'submits');
  wrap(GPUDevice.prototype, 'createBuffer', 'bufferCreations');
  wrap(GPUDevice.prototype, 'createComputePipeline', 'pipelineCompiles');
  wrap(GPUDevice.prototype, 'createComputePipelineAsync', 'pipelineCompiles');
  wrap(GPUBuffer.prototype, 'mapAsync', 'readbacks');
}

/** The counts so far, or null when nothing is being counted. */
export function gpuCallCounts(): GpuCallCounts | null {
  return installed ? { ...counts } : null;
}

/** b − a, per field. */
export const countsBetween = (a: GpuCallCounts, b: GpuCallCounts): GpuCallCounts => ({
  dispatches: b.dispatches - a.dispatches,
  submits: b.submits - a.submits,
  bufferCreations: b.bufferCreations - a.bufferCreations,
  pipelineCompiles: b.pipelineCompiles - a.pipelineCompiles,
  readbacks: b.readbacks - a.readbacks,
});
