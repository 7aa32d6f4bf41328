/**
 * `npx tsx tools/bench-attention.ts`: the converter's two attention forms side by side, in one run.
 *
 * 1. onnxruntime-node (CPU): a Kanana-width model (hidden 1792, 24 heads over 8 KV heads,
 *    head_dim 128, intermediate 8064) with few layers and a small vocabulary, so attention is not
 *    hidden behind the 128,256-row head: a prefill of ~2K tokens, single-token decode steps on that
 *    cache, and a 64-token chunk after it, for fp32 and q4.
 * 2. Chromium, WebGPU on SwiftShader: the tiny-llama fixture (fp32) converted both ways, a
 *    decode step's time after its chat prompt. Its cost is dominated by the 128,256-row head.
 *
 *   --layers N (default 2)  --context N (default 2048)  --steps N (default 8)  --skip-node  --skip-webgpu
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { CHROMIUM_ARGS } from '../playwright.config.ts';
import { convertCheckpoint, GRAPH_OPSETS } from '../src/converter/convert.ts';
import { buildLlamaGraph } from '../src/converter/llama-graph.ts';
import { type AttentionKind, type GraphDtype } from '../src/model/graph-format.ts';
import { encodeModel } from '../src/converter/onnx-proto.ts';
import { resolveLlamaShape, type HfLlamaConfig } from '../src/model/config.ts';
import { syntheticLlamaTensors } from '../src/model/synthetic.ts';
import { timedDecoderRun } from './lib/timed-run.ts';
import { computeRopeParameters } from '../src/model/yarn.ts';
import { chatPromptIds } from '../e2e/harness/chat-prompt.ts';
import { startStaticServer } from '../e2e/harness/static-server.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '2' },
    context: { type: 'string', default: '2048' },
    steps: { type: 'string', default: '8' },
    'skip-webgpu': { type: 'boolean' },
    'skip-node': { type: 'boolean' },
  },
});
const LAYERS = Number(values.layers);
const CONTEXT = Number(values.context);
const STEPS = Number(values.steps);
const FORMS: AttentionKind[] = ['plain', 'gqa'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

const kananaWidth: HfLlamaConfig = {
  model_type: 'llama',
  hidden_size: 1792,
  intermediate_size: 8064,
  num_hidden_layers: LAYERS,
  num_attention_heads: 24,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
};

async function nodeSession(weights: Map<string, Float32Array>, dtype: GraphDtype, attention: AttentionKind) {
  const graph = await buildLlamaGraph(
    resolveLlamaShape(kananaWidth),
    computeRopeParameters(kananaWidth),
    dtype,
    async (name) => weights.get(name)!,
    async (name, dataType, dims, bytes) => ({ name, dataType, dims, data: bytes.slice() }),
    { attention },
  );
  // One thread: the process's CPU time then measures the work, which stays meaningful on a
  // machine shared with other jobs (wall time is printed alongside).
  return ort.InferenceSession.create(encodeModel({ graph, opsets: GRAPH_OPSETS }), { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** Times one run of `ids` after `past` (CPU and wall milliseconds); returns them and the new cache. */
async function timedRun(s: ort.InferenceSession, ids: number[], position: number, past: Record<string, ort.Tensor>) {
  const run = await timedDecoderRun(ort, s, LAYERS, ids, position, past);
  return { elapsed: run.cpuMs, wall: run.wallMs, past: run.past };
}

async function benchNode(): Promise<string[]> {
  const weights = new Map([...syntheticLlamaTensors(kananaWidth, 7)].map((t): [string, Float32Array] => [t.name, t.values]));
  const ids = Array.from({ length: CONTEXT + STEPS + 64 }, (_, i) => (i * 131 + 17) % kananaWidth.vocab_size);
  const rows: string[] = [];
  for (const dtype of ['fp32', 'q4'] as const) {
    const sessions = { plain: await nodeSession(weights, dtype, 'plain'), gqa: await nodeSession(weights, dtype, 'gqa') };
    const samples: Record<AttentionKind, { prefill: number[]; step: number[]; chunk: number[] }> = {
      plain: { prefill: [], step: [], chunk: [] },
      gqa: { prefill: [], step: [], chunk: [] },
    };
    // Two rounds, the forms alternating, so neither always runs first on a shared machine.
    for (let round = 0; round < 2; round++) {
      for (const attention of round === 0 ? FORMS : [...FORMS].reverse()) {
        const s = sessions[attention];
        let past: Record<string, ort.Tensor> = {};
        for (let l = 0; l < LAYERS; l++)
          for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, 8, 0, 128]);
        if (round === 0) await timedRun(s, ids.slice(0, 16), 0, past); // warm-up (allocations, kernel selection)
        const prefill = await timedRun(s, ids.slice(0, CONTEXT), 0, past);
        samples[attention].prefill.push(prefill.elapsed);
        past = prefill.past;
        for (let i = 0; i < STEPS; i++) {
          const step = await timedRun(s, [ids[CONTEXT + i]], CONTEXT + i, past);
          samples[attention].step.push(step.elapsed);
          past = step.past;
        }
        samples[attention].chunk.push((await timedRun(s, ids.slice(CONTEXT + STEPS, CONTEXT + STEPS + 64), CONTEXT + STEPS, past)).elapsed);
        console.error(
          `node ${dtype} ${attention} round ${round} (CPU time; prefill wall ${ms(prefill.wall)}): prefill ${ms(prefill.elapsed)}, steps ${samples[
            attention
          ].step
            .slice(-STEPS)
            .map((t) => t.toFixed(0))
            .join(' ')} ms, chunk ${ms(samples[attention].chunk.at(-1)!)}`,
        );
      }
    }
    await sessions.plain.release();
    await sessions.gqa.release();
    const result = Object.fromEntries(
      FORMS.map((f) => [f, { prefill: Math.min(...samples[f].prefill), step: median(samples[f].step), chunk: Math.min(...samples[f].chunk) }]),
    );
    const { plain, gqa } = result;
    rows.push(
      `| node CPU (1 thread, CPU time) ${dtype}, ${LAYERS} layers | prefill ${CONTEXT} (best of 2) | ${ms(plain.prefill)} | ${ms(gqa.prefill)} | ${(plain.prefill / gqa.prefill).toFixed(2)}× |`,
    );
    rows.push(
      `| node CPU (1 thread, CPU time) ${dtype}, ${LAYERS} layers | decode step at ${CONTEXT} (median of ${2 * STEPS}) | ${ms(plain.step)} | ${ms(gqa.step)} | ${(plain.step / gqa.step).toFixed(2)}× |`,
    );
    rows.push(
      `| node CPU (1 thread, CPU time) ${dtype}, ${LAYERS} layers | 64-token chunk after ${CONTEXT + STEPS} cached (best of 2) | ${ms(plain.chunk)} | ${ms(gqa.chunk)} | ${(plain.chunk / gqa.chunk).toFixed(2)}× |`,
    );
  }
  return rows;
}

async function benchWebGpu(): Promise<string[]> {
  const root = join(import.meta.dirname, '..');
  const models = mkdtempSync(join(tmpdir(), 'hanmadi-bench-attention-'));
  for (const attention of FORMS) {
    await convertCheckpoint(directoryReader(join(root, 'fixtures', 'checkpoints', 'tiny-llama')), directoryWriter(join(models, attention)), {
      dtypes: ['fp32'],
      attention,
    });
  }
  env.allowRemoteModels = false;
  env.localModelPath = join(root, 'fixtures', 'models') + '/';
  const prompt = await chatPromptIds('tiny-llama', 1);
  const server = await startStaticServer({ '/nm/': join(root, 'node_modules'), '/kv/': models, '/harness/': join(root, 'e2e', 'harness') });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--enable-unsafe-webgpu', ...CHROMIUM_ARGS],
  });
  const rows: string[] = [];
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/harness/kv-paths.html`);
    await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
    const chunks = [prompt, ...Array.from({ length: STEPS + 1 }, (_, i) => [prompt[i % prompt.length]])];
    const stepTimes: Record<string, number> = {};
    for (const [label, attention, ortDevice] of [
      ['plain', 'plain', false],
      ['gqa', 'gqa', false],
      ['gqa, ORT device (subgroups)', 'gqa', true],
    ] as const) {
      const externalData = [{ path: 'model.onnx_data', data: `/kv/${attention}/onnx/model.onnx_data` }];
      const args = {
        modelUrl: `/kv/${attention}/onnx/model.onnx`,
        externalData,
        ep: 'webgpu',
        chunks,
        layers: 2,
        kvHeads: 2,
        headDim: 32,
        half: false,
        logitsToKeep: 1,
        withLogits: false,
        ortDevice,
      };
      const { runMs } = await page.evaluate((a) => (window as unknown as { runChunks(x: typeof a): Promise<{ runMs: number[] }> }).runChunks(a), args);
      stepTimes[label] = median(runMs.slice(2)); // the first step compiles the decode shaders
      console.error(
        `webgpu ${label}: prefill ${ms(runMs[0])}, steps ${runMs
          .slice(1)
          .map((t) => t.toFixed(0))
          .join(' ')} ms`,
      );
    }
    rows.push(
      `| Chromium WebGPU (SwiftShader), tiny-llama fp32 | decode step after ${prompt.length} tokens (median of ${STEPS}) | ${ms(stepTimes.plain)} | ${ms(stepTimes.gqa)} | ${(stepTimes.plain / stepTimes.gqa).toFixed(2)}× |`,
    );
    rows.push(`| same, GroupQueryAttention on ORT's own device (with 4-lane subgroups) | decode step | | ${ms(stepTimes['gqa, ORT device (subgroups)'])} | |`);
  } finally {
    await browser.close();
    await server.close();
  }
  return rows;
}

const rows = values['skip-node'] ? [] : await benchNode();
if (!values['skip-webgpu']) rows.push(...(await benchWebGpu()));
console.log(['| where | what | plain ops | GroupQueryAttention | plain / GQA |', '| --- | --- | --- | --- | --- |', ...rows].join('\n'));
