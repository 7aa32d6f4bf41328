/**
 * Without WebGPU (Chromium launched without --enable-unsafe-webgpu: navigator.gpu exists but no
 * adapter is granted, as on many Linux machines) the app falls back to WebAssembly, says so, and
 * still chats with the reference's reply.
 */
import { chromium, expect, test } from '@playwright/test';
import { CHROMIUM_ARGS } from '../playwright.config.ts';
import { lastReplyText, loadModel, openApp, replyTo, send, setSampling } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';

test('no WebGPU adapter: WASM fallback with a notice, and the chat still works', async ({ baseURL }) => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ baseURL });
    await openApp(page);
    expect(await page.evaluate(async () => (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter() ?? null)).toBeNull();
    await setSampling(page, { temperature: 0, maxNewTokens: 8 });
    await loadModel(page, 'local:tiny-llama');
    await expect(page.getByText(/^Loaded: .*\(WASM, q4\)$/)).toBeVisible();
    await expect(page.getByTestId('wasm-notice')).toContainText('WebGPU is not available');

    const reference = await ReferenceChat.create('tiny-llama', 'q4');
    const message = '안녕하세요, 반가워요!';
    const expected = reference.reply([{ role: 'user', content: message }], 8);
    await replyTo(page, () => send(page, message));
    expect(await lastReplyText(page)).toBe(expected.text);
  } finally {
    await browser.close();
  }
});
