/**
 * A stored model stays in the picker, marked stored, when its catalog entry cannot be read: the
 * tiny model is stored, the browser goes offline (the service worker serves the app; the test
 * models' catalog, models/local.json, is not reachable), and after a reload the model is listed
 * from IndexedDB and chats. WASM (q8): the subject is storage, not WebGPU.
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { expect, test } from '@playwright/test';
import { lastReplyText, loadModel, openApp, replyTo, send, setSampling } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';

test('offline, a stored model whose catalog cannot be fetched is listed as stored, loads and chats', async ({ page, context }) => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: 4 });
  await loadModel(page, 'local:tiny-llama');
  await expect(page.getByText('Hanmadi is ready to work offline.')).toBeVisible();

  await context.setOffline(true);
  await page.reload();
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker).toBeEnabled();
  // The catalog of test models is gone with the network; the one stored here is not.
  await expect(picker.locator('option[value="local:tiny-llama-ctx64"]')).toHaveCount(0);
  await expect(picker.locator('option[value="local:tiny-llama"]')).toHaveText(/· stored$/);

  await setSampling(page, { temperature: 0, maxNewTokens: 4 });
  await loadModel(page, 'local:tiny-llama');
  const reference = await ReferenceChat.create('tiny-llama', 'q8');
  const message = '인터넷 없이도 돼요?';
  await replyTo(page, () => send(page, message));
  expect(await lastReplyText(page)).toBe(reference.reply([{ role: 'user', content: message }], 4).text);
});
