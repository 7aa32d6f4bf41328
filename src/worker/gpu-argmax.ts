/**
 * Greedy decoding's next token, chosen where the logits are: a two-pass argmax on the GPU over
 * the logits buffer the session writes, so a decode step reads back 4 bytes instead of the whole
 * vocabulary's row (128,256 floats for Kanana). Ties go to the lowest index, as `argmax` in
 * src/model/sampling.ts and the reference do. Runs on the engine's own GPUDevice (the one ONNX
 * Runtime was given), after the session's work in queue order.
 */
import type { Tensor } from 'onnxruntime-web';
import { ort } from './ort-runtime.ts';

const WORKGROUP = 256;
const PER_THREAD = 4;
const BLOCK = WORKGROUP * PER_THREAD;

// Pass 1 (`blocks`): each workgroup reduces one block of logits to its best (value, index).
// Pass 2 (`groups`): one workgroup reduces those partial results. `count` is each pass's input size.
const SHADER = /* wgsl */ `
struct Params { count: u32, unused: u32 }
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<vec2<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> bestValue: array<f32, ${WORKGROUP}>;
var<workgroup> bestIndex: array<u32, ${WORKGROUP}>;

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  return v > w || (v == w && i < j);
}

fn reduce(local: u32, value: f32, index: u32, group: u32) {
  bestValue[local] = value;
  bestIndex[local] = index;
  workgroupBarrier();
  for (var span = ${WORKGROUP / 2}u; span > 0u; span = span / 2u) {
    if (local < span && better(bestValue[local + span], bestIndex[local + span], bestValue[local], bestIndex[local])) {
      bestValue[local] = bestValue[local + span];
      bestIndex[local] = bestIndex[local + span];
    }
    workgroupBarrier();
  }
  if (local == 0u) {
    partial[group] = vec2<u32>(bitcast<u32>(bestValue[0]), bestIndex[0]);
  }
}

@compute @workgroup_size(${WORKGROUP})
fn blocks(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var value = bitcast<f32>(0xff7fffffu); // -FLT_MAX
  var index = 0xffffffffu;
  for (var k = 0u; k < ${PER_THREAD}u; k = k + 1u) {
    let i = wid.x * ${BLOCK}u + k * ${WORKGROUP}u + lid.x;
    if (i < params.count) {
      let v = logits[i];
      if (better(v, i, value, index)) { value = v; index = i; }
    }
  }
  reduce(lid.x, value, index, wid.x);
}

@group(0) @binding(3) var<storage, read> partialIn: array<vec2<u32>>;

@compute @workgroup_size(${WORKGROUP})
fn groups(@builtin(local_invocation_id) lid: vec3<u32>) {
  var value = bitcast<f32>(0xff7fffffu); // -FLT_MAX
  var index = 0xffffffffu;
  for (var i = lid.x; i < params.count; i = i + ${WORKGROUP}u) {
    let p = partialIn[i];
    let v = bitcast<f32>(p.x);
    if (better(v, p.y, value, index)) { value = v; index = p.y; }
  }
  reduce(lid.x, value, index, 0u);
}
`;

export class GpuArgmax {
  /** The logits output to fetch into: [1, 1, vocab] float32, on this device. */
  readonly logits: Tensor;
  private readonly logitsBuffer: GPUBuffer;
  private readonly partial: GPUBuffer;
  private readonly result: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly params: GPUBuffer[];
  private readonly blocks: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup };
  private readonly groups: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup };
  private readonly groupCount: number;

  /** Builds the pipelines, failing loudly (not with a silent index 0) if the device refuses them. */
  static async create(device: GPUDevice, vocab: number): Promise<GpuArgmax> {
    device.pushErrorScope('validation');
    const argmax = new GpuArgmax(device, vocab);
    const error = await device.popErrorScope();
    if (error) {
      argmax.destroy();
      throw new Error(`The GPU argmax could not be built: ${error.message}`);
    }
    return argmax;
  }

  private constructor(
    private readonly device: GPUDevice,
    readonly vocab: number,
  ) {
    this.groupCount = Math.ceil(vocab / BLOCK);
    if (this.groupCount > WORKGROUP * 64) throw new RangeError(`A vocabulary of ${vocab} is too large for the GPU argmax.`);
    const storage = GPUBufferUsage.STORAGE;
    this.logitsBuffer = device.createBuffer({ label: 'logits', size: vocab * 4, usage: storage | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.partial = device.createBuffer({ label: 'argmax.partial', size: this.groupCount * 8, usage: storage });
    this.result = device.createBuffer({ label: 'argmax.result', size: 8, usage: storage | GPUBufferUsage.COPY_SRC });
    this.readback = device.createBuffer({ label: 'argmax.readback', size: 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.params = [vocab, this.groupCount].map((count, i) => {
      const buffer = device.createBuffer({ label: `argmax.params.${i}`, size: 8, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buffer, 0, Uint32Array.from([count, 1]));
      return buffer;
    });
    const module = device.createShaderModule({ label: 'argmax', code: SHADER });
    const layout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
        { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
        { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      ],
    });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
    const pipeline = (entryPoint: string) =>
      device.createComputePipeline({ label: `argmax.${entryPoint}`, layout: pipelineLayout, compute: { module, entryPoint } });
    // Unused bindings still need a buffer: each pass binds the other's as a harmless stand-in.
    const group = (input: GPUBuffer, output: GPUBuffer, params: GPUBuffer, partialIn: GPUBuffer) =>
      device.createBindGroup({
        layout,
        entries: [input, output, params, partialIn].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
    this.blocks = { pipeline: pipeline('blocks'), bindGroup: group(this.logitsBuffer, this.partial, this.params[0], this.result) };
    this.groups = { pipeline: pipeline('groups'), bindGroup: group(this.logitsBuffer, this.result, this.params[1], this.partial) };
    this.logits = ort().Tensor.fromGpuBuffer(this.logitsBuffer, { dataType: 'float32', dims: [1, 1, vocab] });
  }

  /** The index of the largest logit the last run wrote (one 8-byte readback). */
  async argmax(): Promise<number> {
    const encoder = this.device.createCommandEncoder({ label: 'argmax' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.blocks.pipeline);
    pass.setBindGroup(0, this.blocks.bindGroup);
    pass.dispatchWorkgroups(this.groupCount);
    pass.setPipeline(this.groups.pipeline);
    pass.setBindGroup(0, this.groups.bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(this.result, 0, this.readback, 0, 8);
    this.device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ);
    const index = new Uint32Array(this.readback.getMappedRange())[1];
    this.readback.unmap();
    return index;
  }

  destroy(): void {
    for (const buffer of [this.logitsBuffer, this.partial, this.result, this.readback, ...this.params]) buffer.destroy();
  }
}
