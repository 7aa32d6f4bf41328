/**
 * A decode step's token, fed from a GPU buffer the engine keeps and writes with
 * `queue.writeBuffer` before each run, so ONNX Runtime's WebGPU provider does not upload it
 * through a fresh staging buffer per run (a buffer creation per step in the bench's counters).
 * Only the token: its one consumer (the embedding's Gather) runs on the GPU. The position goes to
 * a CPU node (its int64 Cast), so a GPU-fed position is downloaded again: measured, one more
 * readback and no fewer creations. Single-token runs only; a prompt's run feeds CPU tensors.
 */
import type { Tensor } from 'onnxruntime-web';
import { ort } from './ort-runtime.ts';

export class GpuStepInputs {
  private readonly idBuffer: GPUBuffer;
  /** int64 [1, 1] over the buffer above. */
  readonly inputIds: Tensor;
  private readonly scratch = new BigInt64Array(1);

  constructor(private readonly device: GPUDevice) {
    this.idBuffer = device.createBuffer({
      label: 'step.input_ids',
      size: 8,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    this.inputIds = ort().Tensor.fromGpuBuffer(this.idBuffer, { dataType: 'int64', dims: [1, 1] });
  }

  /** Sets the next run's token (in queue order, before the run's work). */
  write(id: number): void {
    this.scratch[0] = BigInt(id);
    this.device.queue.writeBuffer(this.idBuffer, 0, this.scratch);
  }

  destroy(): void {
    this.idBuffer.destroy();
  }
}
