/**
 * One linear layer, Y[M, N] = A[M, K] · W, as a single-product ONNX model in each form a CPU graph
 * could use, for the matmul microbenchmark (tools/bench-matmul.ts) and its correctness test.
 * Weights are seeded pseudo-random values already in each form's quantized layout: the kernels'
 * speed does not depend on the values, and quantizing a 230-million-weight head in JavaScript
 * would cost more than timing it. `dequantized` gives the float weight each form computes with,
 * so a test can check that a form's output is the product it claims to be.
 */
import { DataType, encodeModel, type Node, type Tensor } from '../../src/converter/onnx-proto.ts';
import { createRng } from '../../src/model/rng.ts';

export const MATMUL_FORMS = [
  /** float32 MatMul: the bytes-per-weight ceiling of the others. */
  'fp32',
  /** 4-bit MatMulNBits, block 32, no zero points: the q4 graphs' form. */
  'q4-nbits',
  /** The same with accuracy_level 4 (int8 activations, where MLAS has such a kernel). */
  'q4-nbits-acc4',
  /** 8-bit MatMulNBits, block 32, the default zero point 128. */
  'q8-nbits',
  /** The same with accuracy_level 4. */
  'q8-nbits-acc4',
  /** DynamicQuantizeLinear + MatMulInteger (uint8 × int8) + Cast + the two scales: transformers.js's exported q8 form. */
  'q8-integer',
  /** com.microsoft DynamicQuantizeMatMul: int8 weight, a scale per column; the converter's q8 graph. */
  'q8-dqmm',
] as const;
export type MatmulForm = (typeof MATMUL_FORMS)[number];

const BLOCK = 32;

/** Bytes of the weight a form stores for a [K, N] product (what one decode step reads). */
export function weightBytes(form: MatmulForm, k: number, n: number): number {
  const blocks = (n * k) / BLOCK;
  if (form === 'fp32') return 4 * n * k;
  if (form.startsWith('q4')) return (n * k) / 2 + 4 * blocks;
  if (form.startsWith('q8-nbits')) return n * k + 4 * blocks;
  return n * k + 4 * n;
}

const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Per-block or per-column scales in [0.5, 1.5) / √K, so products stay near unit size. */
function scales(count: number, k: number, next: () => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (0.5 + next()) / Math.sqrt(k);
  return out;
}

export interface MatmulWeights {
  form: MatmulForm;
  k: number;
  n: number;
  initializers: Tensor[];
  nodes: Node[];
  /** The float weight [K, N] (row-major) the form's output equals A times; built on demand: a head's is 0.9 GB. */
  dequantized: () => Float32Array;
}

/** The form's weight for a [K, N] product, seeded by `seed`. */
export function matmulWeights(form: MatmulForm, k: number, n: number, seed = 1): MatmulWeights {
  if (k % BLOCK !== 0) throw new Error(`K = ${k} is not a multiple of ${BLOCK}.`);
  // The fixtures' seeded generator: the same weights for every form, run and machine.
  const next = createRng(seed).uniform;
  const blocksPerColumn = k / BLOCK;
  if (form === 'fp32') {
    const w = new Float32Array(k * n);
    for (let i = 0; i < w.length; i++) w[i] = (next() * 2 - 1) / Math.sqrt(k);
    return {
      form,
      k,
      n,
      dequantized: () => w,
      initializers: [{ name: 'W', dataType: DataType.FLOAT, dims: [k, n], data: asBytes(w) }],
      nodes: [{ opType: 'MatMul', inputs: ['A', 'W'], outputs: ['Y'] }],
    };
  }
  if (form.startsWith('q4') || form.startsWith('q8-nbits')) {
    const bits = form.startsWith('q4') ? 4 : 8;
    const blockBytes = (BLOCK * bits) / 8;
    // [N, K/32, blockBytes]: column n's weights along K, two per byte (low nibble first) at 4 bits.
    const data = new Uint8Array(n * blocksPerColumn * blockBytes);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256);
    const s = scales(n * blocksPerColumn, k, next);
    const zero = 1 << (bits - 1);
    const dequantized = () => {
      const w = new Float32Array(k * n);
      for (let col = 0; col < n; col++)
        for (let row = 0; row < k; row++) {
          const q = bits === 8 ? data[col * k + row] : (data[(col * k + row) >> 1] >> ((row & 1) * 4)) & 15;
          w[row * n + col] = (q - zero) * s[col * blocksPerColumn + Math.floor(row / BLOCK)];
        }
      return w;
    };
    return {
      form,
      k,
      n,
      dequantized,
      initializers: [
        { name: 'B', dataType: DataType.UINT8, dims: [n, blocksPerColumn, blockBytes], data },
        { name: 'S', dataType: DataType.FLOAT, dims: [n * blocksPerColumn], data: asBytes(s) },
      ],
      nodes: [
        {
          opType: 'MatMulNBits',
          domain: 'com.microsoft',
          inputs: ['A', 'B', 'S'],
          outputs: ['Y'],
          attributes: { K: k, N: n, bits, block_size: BLOCK, accuracy_level: form.endsWith('acc4') ? 4 : 0 },
        },
      ],
    };
  }
  // int8 [K, N] in [−127, 127] with a float scale per column, as the converter's q8 graph stores it.
  const w = new Int8Array(k * n);
  for (let i = 0; i < w.length; i++) w[i] = Math.floor(next() * 255) - 127;
  const s = scales(n, k, next);
  const dequantized = () => Float32Array.from(w, (v, i) => v * s[i % n]);
  const initializers: Tensor[] = [
    { name: 'W', dataType: DataType.INT8, dims: [k, n], data: asBytes(w) },
    { name: 'S', dataType: DataType.FLOAT, dims: [n], data: asBytes(s) },
  ];
  if (form === 'q8-dqmm')
    return {
      form,
      k,
      n,
      dequantized,
      initializers,
      nodes: [{ opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', inputs: ['A', 'W', 'S'], outputs: ['Y'] }],
    };
  return {
    form,
    k,
    n,
    dequantized,
    initializers,
    nodes: [
      { opType: 'DynamicQuantizeLinear', inputs: ['A'], outputs: ['Aq', 'As', 'Az'] },
      { opType: 'MatMulInteger', inputs: ['Aq', 'W', 'Az'], outputs: ['Yi'] },
      { opType: 'Cast', inputs: ['Yi'], outputs: ['Yf'], attributes: { to: DataType.FLOAT } },
      { opType: 'Mul', inputs: ['As', 'S'], outputs: ['Ys'] },
      { opType: 'Mul', inputs: ['Yf', 'Ys'], outputs: ['Y'] },
    ],
  };
}

/** The single-product model: input A [M, K] (M symbolic, so one session serves decode and prefill), output Y [M, N]. */
export function matmulModel(weights: MatmulWeights): Uint8Array {
  return encodeModel({
    opsets: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name: `matmul-${weights.form}`,
      inputs: [{ name: 'A', elemType: DataType.FLOAT, shape: ['M', weights.k] }],
      outputs: [{ name: 'Y', elemType: DataType.FLOAT, shape: ['M', weights.n] }],
      nodes: weights.nodes,
      initializers: weights.initializers,
    },
  });
}

/** Activations [M, K] in [−1, 1), seeded. */
export function activations(m: number, k: number, seed = 7): Float32Array {
  const next = createRng(seed).uniform;
  return Float32Array.from({ length: m * k }, () => next() * 2 - 1);
}
