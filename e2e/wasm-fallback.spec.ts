/**
 * Without WebGPU (Chromium launched without --enable-unsafe-webgpu: navigator.gpu exists but no
 * adapter is granted, as on many Linux machines) the app falls back to WebAssembly, says so, loads
 * the CPU precision (q8: int8 DynamicQuantizeMatMul) and still chats with the reference's reply
 * (the reference computing as that op does).
 *
 * Where the only adapter is a software renderer (SwiftShader, as in every other spec here),
 * Automatic runs on WebAssembly too, since it is faster than WebGPU on the CPU, and says which adapter
 * it passed over; Run on → GPU still runs WebGPU on it, and is remembered. GPU and CPU prefer different precisions
 * (q4 and q8 here): switching between them says so before a second download, and offers a stored
 * precision the other device runs.
 * Backend: the subject itself: no adapter, a software adapter under Automatic, Run on → GPU and → CPU.
 */
import { chromium, expect, test } from '@playwright/test';
import { CHROMIUM_ARGS } from '../playwright.config.ts';
import { lastReplyText, loadModel, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling } from './support/app.ts';
import { storedModel } from './support/store.ts';
import { ReferenceChat } from './support/reference.ts';

test('no WebGPU adapter: WASM fallback with a notice, and the chat still works', async ({ baseURL }) => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ baseURL });
    await openApp(page);
    expect(await page.evaluate(async () => (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter() ?? null)).toBeNull();
    await setSampling(page, { temperature: 0, maxNewTokens: 8 });
    await loadModel(page, 'local:tiny-llama');
    await expect(page.getByText(/^Loaded: .*\(WASM, q8\)$/)).toBeVisible();
    await expect(page.getByTestId('wasm-notice')).toContainText('WebGPU is not available');

    const reference = await ReferenceChat.create('tiny-llama', 'q8');
    const message = '안녕하세요, 반가워요!';
    const expected = reference.reply([{ role: 'user', content: message }], 8);
    await replyTo(page, () => send(page, message));
    expect(await lastReplyText(page)).toBe(expected.text);
  } finally {
    await browser.close();
  }
});

test('a software adapter: Automatic runs on the CPU and says why, and Run on → GPU still uses it', async ({ page }) => {
  await openApp(page);
  const adapter = await page.evaluate(async () => {
    const info = (await navigator.gpu.requestAdapter())?.info;
    return info ? { vendor: info.vendor, architecture: info.architecture } : null;
  });
  expect(adapter?.architecture).toBe('swiftshader');
  const runOn = page.getByRole('combobox', { name: 'Run on' });
  await expect(runOn.getByRole('option', { selected: true })).toHaveText('Automatic');

  await loadModel(page, 'local:tiny-llama');
  await expect(page.getByText(/^Loaded: .*\(WASM, q8\)$/)).toBeVisible();
  await expect(page.getByTestId('wasm-notice')).toContainText(
    `This browser's WebGPU has no graphics hardware behind it (a software renderer: ${adapter!.vendor} ${adapter!.architecture}`,
  );
  await expect(page.getByTestId('wasm-notice')).toContainText('choose Run on → GPU');

  // q8 is stored; the GPU runs q4, another download, which Load says first. The way back to the stored copy is named.
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('webgpu');
  await page.getByRole('button', { name: 'Load model' }).click();
  const dialog = page.getByRole('dialog', { name: 'This is another download of the model' });
  await expect(dialog).toContainText(/Tiny Llama is stored as q8\. Running on the GPU \(WebGPU\) uses q4 instead: a separate download of [\d.]+ [KM]B/);
  await expect(dialog).toContainText('To run the stored copy instead, choose Run on → CPU (WebAssembly).');
  await expect(dialog.getByRole('button', { name: /^Use the stored/ })).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Download q4' }).click();
  await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });
  await expect(page.getByTestId('wasm-notice')).toHaveCount(0);
  expect(await storedModel(page, 'local:tiny-llama', 'q8')).toMatchObject({ status: 'complete' });
  expect(await storedModel(page, 'local:tiny-llama', 'q4')).toMatchObject({ status: 'complete' });

  // The choice is remembered: a reload still runs on the GPU.
  await page.reload();
  await openApp(page);
  await expect(runOn.getByRole('option', { selected: true })).toHaveText('GPU (WebGPU)');
});

test('switching GPU → CPU says it would download another precision first, and offers the stored one the CPU runs', async ({ page }) => {
  await openApp(page);
  await loadModel(page, 'local:tiny-llama', { device: 'webgpu' });
  await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();

  // The CPU prefers q8, not stored: Cancel downloads nothing and keeps the loaded model.
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('wasm');
  const load = page.getByRole('button', { name: 'Load model' });
  await load.click();
  const dialog = page.getByRole('dialog', { name: 'This is another download of the model' });
  await expect(dialog).toContainText(/is stored as q4\. Running on the CPU \(WebAssembly\) uses q8 instead: a separate download of/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();
  expect(await storedModel(page, 'local:tiny-llama', 'q8')).toBeNull();

  // The stored q4 runs on the CPU too: chosen from the dialog, it loads with nothing downloaded.
  await load.click();
  await dialog.getByRole('button', { name: 'Use the stored q4' }).click();
  await expect(page.getByText(/^Loaded: .*\(WASM, q4\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });
  await expect(page.getByRole('combobox', { name: 'Precision' }).getByRole('option', { selected: true })).toHaveText(/^q4\b/);
  expect(await storedModel(page, 'local:tiny-llama', 'q8')).toBeNull();

  // Asked again for the CPU's own precision, it downloads it.
  await page.getByRole('combobox', { name: 'Precision' }).selectOption('auto');
  await load.click();
  await dialog.getByRole('button', { name: 'Download q8' }).click();
  await expect(page.getByText(/^Loaded: .*\(WASM, q8\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });
  expect(await storedModel(page, 'local:tiny-llama', 'q8')).toMatchObject({ status: 'complete' });
});
