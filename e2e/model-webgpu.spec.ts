/**
 * The converted fixtures in real Chromium with WebGPU (SwiftShader: no shader-f16, so fp32 and
 * q4): transformers.js loads them and greedy-generates exactly the reference's tokens (fp32; q4:
 * the reference on its dequantized 4-bit weights, and the same graph in onnxruntime-node); a second chat turn reusing
 * the first turn's KV cache (a multi-token prefill after a cached prefix) too. tiny-llama3 (llama3
 * RoPE over a 64-token original window) runs a prompt past that window, in fp32 and q4.
 * Backend: WebGPU (SwiftShader here) through transformers.js on a harness page; q4 also against onnxruntime-node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from '@huggingface/transformers';
import type { HfLlamaConfig } from '../src/model/config.ts';
import { loadReferenceModel } from '../tools/lib/reference-loader.ts';
import { FIXTURES_DIR } from '../src/testing/fixture-specs.ts';
import { chatPromptIds } from './harness/chat-prompt.ts';
import { startStaticServer, type StaticServer } from './harness/static-server.ts';

const root = join(import.meta.dirname, '..');
const fixtures = FIXTURES_DIR;
let server: StaticServer;

test.beforeAll(async () => {
  server = await startStaticServer({
    '/nm/': join(root, 'node_modules'),
    '/models/': join(fixtures, 'models'),
    '/harness/': join(root, 'e2e', 'harness'),
  });
  env.allowRemoteModels = false;
  env.localModelPath = join(fixtures, 'models') + '/';
});
test.afterAll(() => server.close());

/** fp32: a prefill and seven KV-cached decode steps, ~1.5 s each on SwiftShader. */
const FP32_NEW_TOKENS = 8;

async function generateInBrowser(
  page: import('@playwright/test').Page,
  args: { model: string; device: string; dtype: string; promptIds: number[]; maxNewTokens: number },
) {
  await page.goto(`${server.url}/harness/generate.html`);
  await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  // A real WebGPU adapter (SwiftShader here), not a silent WASM fallback.
  const hasAdapter = await page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return !!(await gpu?.requestAdapter());
  });
  expect(hasAdapter).toBe(true);
  return page.evaluate((a) => (window as unknown as { generateTokens(x: typeof a): Promise<number[]> }).generateTokens(a), args);
}

// tiny-llama's fp32 run is the KV-cache test below (its first turn is this check), so it loads once.
for (const [model, turns] of [
  ['tiny-llama-yarn', 3],
  ['tiny-llama3', 3],
] as const) {
  test(`${model} fp32 on WebGPU generates the reference's greedy tokens`, async ({ page }) => {
    const promptIds = await chatPromptIds(model, turns);
    const config = JSON.parse(readFileSync(join(fixtures, 'checkpoints', model, 'config.json'), 'utf8')) as HfLlamaConfig;
    if (config.rope_scaling) expect(promptIds.length).toBeGreaterThan(config.rope_scaling.original_max_position_embeddings ?? 0); // past the original window
    const reference = await loadReferenceModel(join(fixtures, 'checkpoints', model), config);
    const expected = reference.greedy(promptIds, FP32_NEW_TOKENS);
    const tokens = await generateInBrowser(page, { model, device: 'webgpu', dtype: 'fp32', promptIds, maxNewTokens: FP32_NEW_TOKENS });
    expect(tokens).toEqual(expected);
  });
}

// 4 new tokens: a prefill and three KV-cached decode steps through MatMulNBits, each ~6 s on
// SwiftShader. tiny-llama3's prompt runs past its 64-token original window.
for (const [model, turns, newTokens] of [
  ['tiny-llama', 1, 4],
  ['tiny-llama3', 3, 4],
] as const) {
  test(`${model} q4 (MatMulNBits) on WebGPU generates the reference's tokens on its 4-bit weights, as the same graph does in onnxruntime-node`, async ({
    page,
  }) => {
    const promptIds = await chatPromptIds(model, turns);
    const nodeModel = await AutoModelForCausalLM.from_pretrained(model, { dtype: 'q4' });
    const input = new Tensor('int64', BigInt64Array.from(promptIds.map(BigInt)), [1, promptIds.length]);
    const output = (await nodeModel.generate({ input_ids: input, max_new_tokens: newTokens, min_new_tokens: newTokens, do_sample: false })) as Tensor;
    const expected = Array.from(output.data as BigInt64Array, Number).slice(promptIds.length);
    await nodeModel.dispose();
    const tokens = await generateInBrowser(page, { model, device: 'webgpu', dtype: 'q4', promptIds, maxNewTokens: newTokens });
    expect(tokens).toEqual(expected);
    // Both equal the reference on the weights the graph computes with (its dequantized 4-bit ones).
    const config = JSON.parse(readFileSync(join(fixtures, 'checkpoints', model, 'config.json'), 'utf8')) as HfLlamaConfig;
    const reference = await loadReferenceModel(join(fixtures, 'checkpoints', model), config, 'q4');
    expect(expected).toEqual(reference.greedy(promptIds, newTokens));
  });
}

test("tiny-llama fp32 on WebGPU generates the reference's greedy tokens, and a second turn on the first turn's KV cache too", async ({ page }) => {
  const promptIds = await chatPromptIds('tiny-llama', 1);
  const tokenizer = await AutoTokenizer.from_pretrained('tiny-llama');
  const nextUserTurn = tokenizer.encode(
    '<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n그럼 내일은요? And tomorrow?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    { add_special_tokens: false },
  );
  await page.goto(`${server.url}/harness/generate.html`);
  await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  type Turn = { promptIds: number[]; tokens: number[]; cachedBefore: number };
  const args = {
    model: 'tiny-llama',
    device: 'webgpu',
    dtype: 'fp32',
    turns: [
      { appendIds: promptIds, maxNewTokens: FP32_NEW_TOKENS },
      { appendIds: nextUserTurn, maxNewTokens: 4 },
    ],
  };
  const [first, second] = await page.evaluate((a) => (window as unknown as { generateTurns(x: typeof a): Promise<Turn[]> }).generateTurns(a), args);

  const config = JSON.parse(readFileSync(join(fixtures, 'checkpoints', 'tiny-llama', 'config.json'), 'utf8')) as HfLlamaConfig;
  const reference = await loadReferenceModel(join(fixtures, 'checkpoints', 'tiny-llama'), config);
  expect(first.tokens).toEqual(reference.greedy(promptIds, FP32_NEW_TOKENS));
  // Turn 2 ran on the cache of everything but turn 1's last token: that token and the new user
  // turn were prefilled together after the cached prefix. The reference starts from scratch.
  expect(second.promptIds).toEqual([...promptIds, ...first.tokens, ...nextUserTurn]);
  expect(second.cachedBefore).toBe(promptIds.length + first.tokens.length - 1);
  expect(second.tokens).toEqual(reference.greedy(second.promptIds, 4));
});
