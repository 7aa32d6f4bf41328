/**
 * A lost GPU device (here: the GPU process crashed through CDP's Browser.crashGpuProcess) stops
 * the reply being generated, keeps what was written (marked interrupted), and offers a reload;
 * after reloading, the conversation is still there and the model loads and chats again.
 * Backend: Run on → GPU (WebGPU on SwiftShader here, q4): the GPU process is what is lost.
 */
import { expect, test } from '@playwright/test';
import { lastReplyText, loadModel, messages, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling } from './support/app.ts';

test('GPU device lost mid-reply: clear error with Reload, nothing lost, chat works after reloading', async ({ page, browser }) => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: 30 });
  await loadModel(page, 'local:tiny-llama', { device: 'webgpu' });
  await expect(page.getByText(/\(WebGPU, q4\)$/)).toBeVisible();
  await send(page, '안녕하세요, 긴 답을 부탁해요.');
  await expect(page.getByTestId('stats')).toHaveText(/Generating… [1-9]\d* tokens/, { timeout: MODEL_STEP_TIMEOUT });

  const cdp = await browser.newBrowserCDPSession();
  await cdp.send('Browser.crashGpuProcess');
  const alert = page.getByRole('alert').filter({ hasText: 'The GPU device was lost' });
  await expect(alert).toBeVisible();
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible(); // the reply ended
  const reply = page.getByRole('article', { name: 'Hanmadi' }).last();
  await expect(reply.getByText('Interrupted')).toBeVisible();
  const partial = await lastReplyText(page);

  await alert.getByRole('button', { name: 'Reload' }).click();
  await expect(page.getByRole('combobox', { name: 'Model' })).toBeEnabled();
  await expect(messages(page)).toHaveCount(2);
  expect(await lastReplyText(page)).toBe(partial);
  await setSampling(page, { maxNewTokens: 2 });
  await loadModel(page, 'local:tiny-llama', { device: 'webgpu' });
  await replyTo(page, () => send(page, '다시 해볼까요?'));
  await expect(messages(page)).toHaveCount(4);
});
