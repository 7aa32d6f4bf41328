/** Appends nodes and constant initializers to a graph under construction, naming their outputs (llama-graph.ts). */
import { DataType, type Node, type Tensor } from './onnx-proto.ts';
import { toFloat16 } from '../lib/float16.ts';

/** A typed array's bytes, in place (little-endian on every platform the app runs on). */
export const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const int64s = (values: number[]) => bytesOf(BigInt64Array.from(values.map(BigInt)));

export class GraphBuilder {
  nodes: Node[] = [];
  initializers: Tensor[] = [];
  private counter = 0;

  op(opType: string, inputs: string[], attributes?: Node['attributes'], domain?: string): string {
    const output = `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, inputs, outputs: [output], attributes, domain });
    return output;
  }

  /** Same as op() but with a chosen output name (graph outputs). */
  named(output: string, opType: string, inputs: string[], attributes?: Node['attributes']): string {
    this.nodes.push({ opType, inputs, outputs: [output], attributes });
    return output;
  }

  /** A node with several outputs, named by the caller. */
  multi(opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'], domain?: string): string[] {
    this.nodes.push({ opType, inputs, outputs, attributes, domain });
    return outputs;
  }

  /** Split of `x` along its last axis into pieces of `sizes` (an int64 initializer named `sizesName`). */
  split(x: string, sizes: number[], sizesName: string): string[] {
    const id = this.counter++;
    const inputs = [x, this.initializers.some((t) => t.name === sizesName) ? sizesName : this.constInt64(sizesName, sizes)];
    return this.multi(
      'Split',
      inputs,
      sizes.map((_, i) => `split_${id}_${i}`),
      { axis: -1 },
    );
  }

  constInt64(name: string, values: number[], dims = [values.length]): string {
    this.initializers.push({ name, dataType: DataType.INT64, dims, data: int64s(values) });
    return name;
  }

  constFloat(name: string, values: Float32Array | number[], dims: number[]): string {
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, data: bytesOf(Float32Array.from(values)) });
    return name;
  }

  /** Float values stored as float16 when `half`, else float32. */
  constFloatAs(half: boolean, name: string, values: Float32Array, dims: number[]): string {
    if (!half) return this.constFloat(name, values, dims);
    this.initializers.push({ name, dataType: DataType.FLOAT16, dims, data: bytesOf(toFloat16(values)) });
    return name;
  }
}
