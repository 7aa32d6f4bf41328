/**
 * `npx tsx tools/bench-cpu-dtypes.ts`: decode time per token of the CPU precisions, q8 (int8
 * DynamicQuantizeMatMul) against q4 (MatMulNBits), on one thread, in onnxruntime-node and in
 * onnxruntime-web's WASM build run in Node (what the app's worker runs on the CPU, minus the
 * browser). Two models: the tiny-llama fixture's shape (its 128,256-row head dominates) and one
 * Kanana-Nano-shaped layer (hidden 1792, 24 heads over 8 KV heads, head_dim 128, intermediate 8064)
 * with a 4096-token vocabulary, so the layer's own projections show. A prefill of PROMPT tokens,
 * then WARMUP + STEPS single-token steps on the cache; each of the last STEPS steps' process CPU
 * time (one ONNX Runtime thread, so it measures the work on a machine shared with other jobs, but
 * it includes V8's background threads, which compile WebAssembly) and wall time, medians printed.
 *
 *   --steps N (default 16)  --prompt N (default 32)
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import * as ortNode from 'onnxruntime-node';
import { GRAPH_OPSETS } from '../src/converter/convert.ts';
import { buildLlamaGraph } from '../src/converter/llama-graph.ts';
import { encodeModel } from '../src/converter/onnx-proto.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../src/model/config.ts';
import type { GraphDtype } from '../src/model/graph-format.ts';
import { syntheticLlamaTensors } from '../src/model/synthetic.ts';
import { computeRopeParameters } from '../src/model/yarn.ts';
import { FIXTURES, KANANA_NANO_CONFIG } from '../src/testing/fixture-specs.ts';
import { timedDecoderRun } from './lib/timed-run.ts';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '16' }, prompt: { type: 'string', default: '32' } } });
const STEPS = Number(values.steps);
const PROMPT = Number(values.prompt);
/** Steps not timed: V8 tiers WebAssembly up during the first runs. */
const WARMUP = 4;

// The package's Node entry: ort.node.min.js with the plain (non-asyncify) WASM build.
const ortWeb = createRequire(import.meta.url)('onnxruntime-web') as typeof ortNode;
ortWeb.env.wasm.numThreads = 1;

type Ort = typeof ortNode;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function graphBytes(config: HfLlamaConfig, dtype: GraphDtype): Promise<Uint8Array> {
  const weights = new Map([...syntheticLlamaTensors(config, 1)].map((t): [string, Float32Array] => [t.name, t.values]));
  const graph = await buildLlamaGraph(
    resolveLlamaShape(config),
    computeRopeParameters(config),
    dtype,
    async (name) => weights.get(name)!,
    async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
  );
  return encodeModel({ graph, opsets: GRAPH_OPSETS });
}

/** Median CPU and wall milliseconds of a decode step after a PROMPT-token prefill. */
async function decodeStep(ort: Ort, model: Uint8Array, config: HfLlamaConfig): Promise<{ cpu: number; wall: number; create: number }> {
  const { numLayers, numKvHeads, headDim, vocabSize } = resolveLlamaShape(config);
  const createStarted = performance.now();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const create = performance.now() - createStarted;
  let past: Record<string, ortNode.Tensor> = {};
  for (let l = 0; l < numLayers; l++)
    for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
  const cpu: number[] = [];
  const wall: number[] = [];
  let ids = Array.from({ length: PROMPT }, (_, i) => (i * 131 + 17) % vocabSize);
  let position = 0;
  for (let step = 0; step <= WARMUP + STEPS; step++) {
    const run = await timedDecoderRun(ort, session, numLayers, ids, position, past);
    if (step > WARMUP) {
      cpu.push(run.cpuMs);
      wall.push(run.wallMs);
    }
    past = run.past;
    position += ids.length;
    ids = [(step * 7919 + 3) % vocabSize];
  }
  await session.release();
  return { cpu: median(cpu), wall: median(wall), create };
}

const kananaLayer: HfLlamaConfig = { ...KANANA_NANO_CONFIG, num_hidden_layers: 1, vocab_size: 4096 };
const rows: string[] = [];
for (const [label, config] of [
  ['tiny-llama shape (2 layers, vocab 128,256)', FIXTURES['tiny-llama'].config],
  ['one Kanana-Nano layer (vocab 4096)', kananaLayer],
] as const) {
  const byDtype: Record<string, Record<string, { cpu: number; wall: number; create: number }>> = {};
  for (const dtype of ['q4', 'q8'] as const) {
    const model = await graphBytes(config, dtype);
    byDtype[dtype] = {};
    for (const [runtime, ort] of [
      ['onnxruntime-node', ortNode],
      ['onnxruntime-web WASM (Node)', ortWeb],
    ] as const) {
      const result = (byDtype[dtype][runtime] = await decodeStep(ort, model, config));
      console.error(`${label} ${dtype} ${runtime}: ${JSON.stringify(result)}`);
    }
  }
  for (const runtime of ['onnxruntime-node', 'onnxruntime-web WASM (Node)']) {
    const q4 = byDtype.q4[runtime];
    const q8 = byDtype.q8[runtime];
    const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
    rows.push(
      `| ${label} | ${runtime} | ${ms(q4.cpu)} (${ms(q4.wall)}) | ${ms(q8.cpu)} (${ms(q8.wall)}) | ${(q4.cpu / q8.cpu).toFixed(1)}× | ${ms(q4.create)} / ${ms(q8.create)} |`,
    );
  }
}
console.log(
  [
    `Decode step after a ${PROMPT}-token prompt, 1 thread, median of ${STEPS}: CPU time (wall)`,
    '',
    '| model | runtime | q4 | q8 | q4 / q8 | session create q4 / q8 |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
