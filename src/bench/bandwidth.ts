/**
 * The adapter's read bandwidth, the roofline's ceiling: a WGSL kernel sums a storage buffer
 * (vec4<f32> loads, grid-stride) and writes almost nothing, dispatched back to back in one
 * submission; bytes read / wall time. The device is requested the way the LLM worker requests its
 * own (src/worker/gpu.ts), so the number belongs to the same adapter and limits.
 * After ../shared/gpu/webgpu-probe.html.
 */
import { acquireWebGpu } from '../worker/gpu.ts';
import type { BandwidthResult } from './bench-api.ts';

const WORKGROUP = 256;
const WORKGROUPS = 4096;

const SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let total = arrayLength(&src);
  let stride = groups.x * ${WORKGROUP}u;
  var sum = vec4f(0.0);
  for (var i = g.x; i < total; i += stride) { sum += src[i]; }
  // Never true for a zeroed buffer, but the compiler cannot know: the loads stay.
  if (sum.x == 12345.0) { sink[g.x % 1024u] = sum.y; }
}`;

export async function measureReadBandwidth(options: { maxBytes: number; targetMs: number; repetitions: number }): Promise<BandwidthResult> {
  const gpu = await acquireWebGpu('webgpu');
  if (!gpu.ok) throw new Error(`No WebGPU device: ${gpu.reason}`);
  const { device } = gpu;
  try {
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, options.maxBytes);
    const bufferBytes = Math.floor(limit / 16) * 16;
    const src = device.createBuffer({ size: bufferBytes, usage: GPUBufferUsage.STORAGE });
    const sink = device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: sink } },
      ],
    });
    const run = async (dispatches: number) => {
      const encoder = device.createCommandEncoder();
      for (let i = 0; i < dispatches; i++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(WORKGROUPS);
        pass.end();
      }
      const started = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return performance.now() - started;
    };
    await run(1); // pipeline compilation, first touch of the buffer
    const once = await run(1);
    const dispatches = Math.max(1, Math.min(200, Math.round(options.targetMs / Math.max(once, 0.01))));
    const gbPerSecond: number[] = [];
    for (let r = 0; r < options.repetitions; r++) {
      const ms = await run(dispatches);
      gbPerSecond.push((dispatches * bufferBytes) / (ms / 1000) / 1e9);
    }
    src.destroy();
    sink.destroy();
    return { gbPerSecond, bufferBytes, dispatchesPerRepetition: dispatches };
  } finally {
    device.destroy();
  }
}
