import { describe, expect, it } from 'vitest';
import { DataType, encodeModel } from './onnx-proto.ts';
import { readInitializers, readNodeOpTypes } from '../model/onnx-initializers.ts';

const model = encodeModel({
  opsets: [
    { domain: '', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ],
  graph: {
    name: 'g',
    inputs: [{ name: 'x', elemType: DataType.FLOAT, shape: [1, 'n'] }],
    outputs: [{ name: 'y', elemType: DataType.FLOAT, shape: [1, 'n'] }],
    initializers: [{ name: 'w', dataType: DataType.FLOAT, dims: [1], data: new Uint8Array(new Float32Array([2]).buffer) }],
    nodes: [
      { opType: 'Mul', inputs: ['x', 'w'], outputs: ['t'] },
      { opType: 'GroupQueryAttention', domain: 'com.microsoft', inputs: ['t'], outputs: ['u'], attributes: { num_heads: 4 } },
      { opType: 'Mul', inputs: ['u', 'w'], outputs: ['y'] },
    ],
  },
});

describe('readNodeOpTypes', () => {
  it('lists the op types of the main graph once each, and leaves initializers to readInitializers', () => {
    expect([...readNodeOpTypes(model)].sort()).toEqual(['GroupQueryAttention', 'Mul']);
    expect(readInitializers(model).map((i) => i.name)).toEqual(['w']);
  });
});
