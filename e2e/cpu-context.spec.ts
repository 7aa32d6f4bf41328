/**
 * The CPU path's memory bound, in real Chromium: on WebAssembly the weights, the KV cache and the
 * activations share one 4 GiB heap, and q8 (the CPU's precision) keeps a float32 cache. The real
 * catalog's Kanana Nano entry is served by the mock Hub with only its config.json (Kanana's real
 * shape: the context setting and the fit verdict need nothing else, and nothing is downloaded).
 * With Run on → CPU it picks q8, its context length defaults to 4,096 tokens, and 8,192 and longer
 * are not offered, with WebAssembly's limit as the reason; the picker calls it tight, not
 * "won't run". With Run on → GPU (SwiftShader here) the CPU's reason is gone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { KANANA_NANO_CONFIG } from '../src/testing/fixture-specs.ts';
import { startMockHub, type MockHub } from '../src/testing/mock-hub.ts';
import { openApp } from './support/app.ts';
import { useMockHub } from './support/hub.ts';

const REPO = 'kakaocorp/kanana-nano-2.1b-instruct';
const MODEL_ID = 'kanana-nano-2.1b-instruct';

let hub: MockHub;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  const dir = mkdtempSync(join(tmpdir(), 'hanmadi-kanana-config-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...KANANA_NANO_CONFIG, architectures: ['LlamaForCausalLM'], torch_dtype: 'bfloat16' }));
  hub = await startMockHub({ repos: { [REPO]: { dir } } });
  context = await browser.newContext();
  await useMockHub(context, hub.url);
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
  await hub?.close();
});

test("on the CPU, Kanana loads q8 at 4,096 tokens: longer windows pass WebAssembly's 4 GiB with its weights, and are not offered", async () => {
  await openApp(page);
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('wasm');
  const picker = page.getByRole('combobox', { name: 'Model' });
  await picker.selectOption(MODEL_ID);
  const contextLength = page.getByRole('combobox', { name: 'Context length' });
  await expect(contextLength).toHaveValue('4096');
  for (const tokens of ['8192', '16384', '32768']) await expect(contextLength.locator(`option[value="${tokens}"]`)).toBeDisabled();
  await expect(contextLength.locator('option[value="2048"]')).toBeEnabled();
  const hint = page.getByTestId('context-length-hint');
  // 2 × 32 layers × 8 KV heads × 128 × 4 bytes (a float32 cache) × 4,096 tokens = 1 GiB.
  await expect(hint).toContainText('at 4,096 tokens: 1.0 GB, 256.0 KB per token.');
  await expect(hint).toContainText(
    /Not offered on the CPU: 8,192, 16,384, 32,768(, [\d,]+)* tokens\. With the model's weights it would need 4\.\d GB on the CPU \(WebAssembly\), which holds at most 4\.0 GB\./,
  );
  // The precision that loads is q8 (the facts name it), and the verdict is judged at 4,096 tokens.
  await expect(page.getByTestId('model-facts')).toContainText('(q8)');
  await expect(picker.locator(`option[value="${MODEL_ID}"]`)).toHaveText(/· tight\b/);

  // On the GPU the heap is not the bound.
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('webgpu');
  await expect(page.getByTestId('model-facts')).not.toContainText('(q8)');
  await expect(hint).not.toContainText('on the CPU');
});
