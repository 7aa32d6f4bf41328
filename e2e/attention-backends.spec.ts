/**
 * The converter's attention in onnxruntime-web, on the WebGPU EP (SwiftShader here) and the WASM EP,
 * through every KV path transformers.js uses: a prefill, single-token decode steps on a cached
 * past, and a multi-token chunk after a cached prefix (KV reuse across chat turns). Each position's
 * logits are held against the TypeScript reference, for GroupQueryAttention and for the plain-op
 * fallback, with chunks on both sides of the 32 tokens where the WebGPU EP switches from its
 * split-reduce kernels to its FlashAttention prefill kernel. WebGPU runs on the device the app
 * creates (e2e/harness/app-device.js: no `subgroups` on SwiftShader's 4-lane subgroups, where
 * that prefill kernel is wrong). q8 (int8 DynamicQuantizeMatMul, a CPU op) runs on the WASM EP
 * only, against the reference computing as that op does, chunk for chunk. The same checks in
 * onnxruntime-node are in src/converter/llama-graph.node.test.ts.
 * Backend: onnxruntime-web's WebGPU EP (SwiftShader here) and its WASM EP; each test names its own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { AttentionKind, GraphDtype } from '../src/model/graph-format.ts';
import { compareWithReference, encodeGraph, KV_CHUNKS, KV_IDS, KV_SHAPE, kvGraph, kvReference, kvWeights } from '../src/testing/kv-paths.ts';
import { startStaticServer, type StaticServer } from './harness/static-server.ts';

const root = join(import.meta.dirname, '..');
const modelDir = mkdtempSync(join(tmpdir(), 'hanmadi-kv-paths-'));
const weights = kvWeights();
let server: StaticServer;

test.beforeAll(async () => {
  for (const attention of ['gqa', 'plain'] as const) {
    for (const dtype of ['fp32', 'q4', 'fp16', 'q4f16', 'q8'] as const) {
      writeFileSync(join(modelDir, `${attention}-${dtype}.onnx`), encodeGraph(await kvGraph(weights, dtype, attention)));
    }
  }
  server = await startStaticServer({ '/nm/': join(root, 'node_modules'), '/kv/': modelDir, '/harness/': join(root, 'e2e', 'harness') });
});
test.afterAll(() => server.close());

async function runInBrowser(page: Page, ep: 'webgpu' | 'wasm', dtype: GraphDtype, attention: AttentionKind) {
  await page.goto(`${server.url}/harness/kv-paths.html`);
  await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  const args = {
    modelUrl: `/kv/${attention}-${dtype}.onnx`,
    ep,
    chunks: KV_CHUNKS,
    layers: KV_SHAPE.numLayers,
    kvHeads: KV_SHAPE.numKvHeads,
    headDim: KV_SHAPE.headDim,
    half: dtype === 'fp16' || dtype === 'q4f16',
  };
  type Result = { logits: number[][]; presentDims: number[][] };
  const result = await page.evaluate((a) => (window as unknown as { runChunks(x: typeof a): Promise<Result> }).runChunks(a), args);
  // present grows by each chunk: [1, kv_heads, total so far, head_dim].
  let total = 0;
  expect(result.presentDims).toEqual(KV_CHUNKS.map((c) => [1, KV_SHAPE.numKvHeads, (total += c.length), KV_SHAPE.headDim]));
  return result.logits;
}

async function adapterFeatures(page: Page): Promise<string[] | null> {
  await page.goto(`${server.url}/harness/kv-paths.html`);
  return page.evaluate(async () => {
    const adapter = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ features: Set<string> } | null> } }).gpu?.requestAdapter();
    return adapter ? [...adapter.features] : null;
  });
}

/**
 * Float32 logits against the reference: WASM computes like onnxruntime-node (rounding only, 1e-3),
 * and so does GroupQueryAttention on WebGPU, whose RoPE tables are the graph's cos/sin caches
 * (computed in float32 by the converter). The plain form computes its tables in WGSL on WebGPU,
 * whose sin/cos are only specified to 2^-11 absolute on [-π, π] and are looser past it: position 0
 * (angle 0) matches to ~1e-5, later ones drift to a few 1e-2 on logits of magnitude ~25, so its
 * bound there is 0.1, and the two forms are held to each other only where both are exact.
 */
const referenceBound = (ep: 'webgpu' | 'wasm', attention: AttentionKind) => (ep === 'webgpu' && attention === 'plain' ? 0.1 : 1e-3);
const FORMS_BOUND = 1e-3;

const maxAbsDiff = (a: number[][], b: number[][]) => Math.max(...a.map((row, t) => Math.max(...row.map((x, i) => Math.abs(x - b[t][i])))));

for (const ep of ['webgpu', 'wasm'] as const) {
  test(`${ep}: fp32 and q4, GroupQueryAttention and plain attention, equal the reference at every position of every KV path`, async ({ page }) => {
    if (ep === 'webgpu') expect(await adapterFeatures(page)).not.toBeNull(); // a real adapter, not a silent fallback
    for (const dtype of ['fp32', 'q4'] as const) {
      const byForm: Partial<Record<AttentionKind, number[][]>> = {};
      for (const attention of ['gqa', 'plain'] as const) {
        const logits = (byForm[attention] = await runInBrowser(page, ep, dtype, attention));
        const { worst, mismatches } = compareWithReference(logits, kvReference(weights, dtype));
        console.log(
          `${ep} ${attention} ${dtype}: max |logit − reference| ${worst.toExponential(2)} over ${KV_IDS.length} positions; top-1 differs at [${mismatches.join(' ')}]`,
        );
        expect(mismatches, `${attention} ${dtype} top-1 differs at`).toEqual([]);
        expect(worst).toBeLessThan(referenceBound(ep, attention));
      }
      const forms = maxAbsDiff(byForm.gqa!, byForm.plain!);
      console.log(`${ep} ${dtype}: max |GroupQueryAttention − plain| ${forms.toExponential(2)}`);
      if (ep === 'wasm') expect(forms).toBeLessThan(FORMS_BOUND);
    }
  });

  test(`${ep}: fp16 and q4f16 agree with the reference at nearly every position of every KV path`, async ({ page }) => {
    // fp16 graphs need shader-f16 on WebGPU, which SwiftShader lacks; WASM runs them on the CPU.
    test.skip(ep === 'webgpu' && !(await adapterFeatures(page))?.includes('shader-f16'), 'no shader-f16 on this adapter');
    for (const dtype of ['fp16', 'q4f16'] as const) {
      for (const attention of ['gqa', 'plain'] as const) {
        const { agree, worst } = compareWithReference(await runInBrowser(page, ep, dtype, attention), kvReference(weights, dtype));
        console.log(`${ep} ${attention} ${dtype}: top-1 ${agree}/${KV_IDS.length}, max |logit error| ${worst.toExponential(2)}`);
        expect(agree / KV_IDS.length).toBeGreaterThanOrEqual(0.9); // fp16 rounding only flips near-ties
      }
    }
  });

  if (ep === 'wasm') {
    test('wasm: q8 gives the tokens of the reference computing as DynamicQuantizeMatMul does, at every position of every KV path', async ({ page }) => {
      for (const attention of ['gqa', 'plain'] as const) {
        const logits = await runInBrowser(page, ep, 'q8', attention);
        const { worst, mismatches } = compareWithReference(logits, kvReference(weights, 'q8'));
        const { agree } = compareWithReference(logits, kvReference(weights, 'fp32'));
        console.log(
          `wasm ${attention} q8: max |logit − emulating reference| ${worst.toExponential(2)}; top-1 differs at [${mismatches.join(' ')}]; agrees with full precision at ${agree}/${KV_IDS.length}`,
        );
        expect(mismatches, `${attention} q8 top-1 differs at`).toEqual([]);
        // A float op rounding unlike the reference's can move an activation across a rounding
        // boundary of its quantization (src/converter/llama-graph.node.test.ts): not bit for bit.
        expect(worst).toBeLessThan(1);
      }
    });
  }
}
