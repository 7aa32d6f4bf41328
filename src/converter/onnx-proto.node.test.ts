/**
 * Runs graphs encoded by onnx-proto.ts in onnxruntime-node: proves the field numbers, external
 * data and the MatMulNBits packing conventions of quantize.ts against the real runtime.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType, encodeModel } from './onnx-proto.ts';
import { dequantizeQ4, quantizeQ4 } from './quantize.ts';
import { createRng } from '../model/rng.ts';

const bytes = (a: Float32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('onnx-proto in onnxruntime-node', () => {
  it('MatMulNBits computes A · dequantize(W)ᵀ with our q4 packing', async () => {
    const rng = createRng(11);
    const n = 5,
      k = 96,
      m = 3;
    const w = Float32Array.from({ length: n * k }, () => rng.normal());
    const a = Float32Array.from({ length: m * k }, () => rng.normal());
    const q = quantizeQ4(w, n, k);
    const model = encodeModel({
      opsets: [
        { domain: '', version: 17 },
        { domain: 'com.microsoft', version: 1 },
      ],
      graph: {
        name: 'q4',
        nodes: [
          {
            opType: 'MatMulNBits',
            domain: 'com.microsoft',
            inputs: ['A', 'B', 'scales'],
            outputs: ['Y'],
            attributes: { K: k, N: n, bits: 4, block_size: 32 },
          },
        ],
        inputs: [{ name: 'A', elemType: DataType.FLOAT, shape: ['batch', k] }],
        outputs: [{ name: 'Y', elemType: DataType.FLOAT, shape: ['batch', n] }],
        initializers: [
          { name: 'B', dataType: DataType.UINT8, dims: [n, k / 32, 16], data: q.data },
          { name: 'scales', dataType: DataType.FLOAT, dims: [q.scales.length], data: bytes(q.scales) },
        ],
      },
    });
    const session = await ort.InferenceSession.create(model);
    const { Y } = await session.run({ A: new ort.Tensor('float32', a, [m, k]) });
    const dq = dequantizeQ4(q);
    const y = Y.data as Float32Array;
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let expected = 0;
        for (let i = 0; i < k; i++) expected += a[r * k + i] * dq[c * k + i];
        expect(y[r * n + c]).toBeCloseTo(expected, 3);
      }
    }
  });

  it('reads initializers from external data and negative int attributes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-proto-'));
    const weight = new Float32Array([1, 2, 3, 4, 5, 6]);
    const padded = new Uint8Array(64 + weight.byteLength);
    padded.set(bytes(weight), 64);
    writeFileSync(join(dir, 'm.onnx_data'), padded);
    const model = encodeModel({
      opsets: [{ domain: '', version: 17 }],
      graph: {
        name: 'external',
        nodes: [
          { opType: 'Add', inputs: ['X', 'W'], outputs: ['S'] },
          { opType: 'ReduceMean', inputs: ['S'], outputs: ['Y'], attributes: { axes: [-1], keepdims: 0 } },
        ],
        inputs: [{ name: 'X', elemType: DataType.FLOAT, shape: [2, 3] }],
        outputs: [{ name: 'Y', elemType: DataType.FLOAT, shape: [2] }],
        initializers: [{ name: 'W', dataType: DataType.FLOAT, dims: [2, 3], data: { location: 'm.onnx_data', offset: 64, length: weight.byteLength } }],
      },
    });
    writeFileSync(join(dir, 'm.onnx'), model);
    const session = await ort.InferenceSession.create(join(dir, 'm.onnx'));
    const { Y } = await session.run({ X: new ort.Tensor('float32', new Float32Array(6).fill(1), [2, 3]) });
    // mean over the last axis of X + W = [[2, 3, 4], [5, 6, 7]]
    expect(Array.from(Y.data as Float32Array)).toEqual([3, 6]);
  });
});
