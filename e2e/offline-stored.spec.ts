/**
 * A stored model stays in the picker, marked stored, when its catalog entry cannot be read: the
 * tiny model is stored, the browser goes offline (the service worker serves the app; the test
 * models' catalog, models/local.json, is not reachable), and after a reload the model is listed
 * from IndexedDB and chats. A partly stored model is listed too, with what it lacks, and cannot
 * be loaded while offline. WASM (q8): the subject is storage, not WebGPU.
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { expect, test } from '@playwright/test';
import { lastReplyText, loadModel, openApp, replyTo, send, setSampling } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';
import { addStoredModelRecord } from './support/store.ts';

test('offline, a stored model whose catalog cannot be fetched is listed as stored, loads and chats', async ({ page, context }) => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: 4 });
  await loadModel(page, 'local:tiny-llama');
  await expect(page.getByText('Hanmadi is ready to work offline.')).toBeVisible();
  // A second model partly stored (a download that stopped early): its record, no files yet.
  await addStoredModelRecord(page, {
    modelKey: 'local:tiny-llama-ctx64',
    dtype: 'q8',
    label: 'Tiny Llama Ctx64',
    totalBytes: 17 * 1024 * 1024,
    status: 'partial',
  });

  await context.setOffline(true);
  await page.reload();
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker).toBeEnabled();
  // The catalog of test models is gone with the network; the models stored here are not.
  await expect(picker.locator('option[value="local:tiny-llama-yarn"]')).toHaveCount(0);
  await expect(picker.locator('option[value="local:tiny-llama"]')).toHaveText(/· stored$/);
  // The partly stored one is listed with what it lacks, and cannot load without the network.
  const partial = picker.locator('option[value="local:tiny-llama-ctx64"]');
  await expect(partial).toHaveText(/Tiny Llama Ctx64.* · partly stored \(0%, 17.0 MB missing\)$/);
  await picker.selectOption('local:tiny-llama-ctx64');
  const load = page.getByRole('button', { name: 'Load model' });
  await expect(load).toBeDisabled();
  await expect(page.getByTestId('offline-note')).toHaveText(
    'You are offline, and this model is only partly stored here (17.0 MB missing). Connect to the internet to finish its download, or pick a stored model.',
  );
  // Back online it could finish downloading; offline again, it cannot.
  await context.setOffline(false);
  await expect(load).toBeEnabled();
  await expect(page.getByTestId('offline-note')).toHaveCount(0);
  await context.setOffline(true);
  await expect(load).toBeDisabled();

  await setSampling(page, { temperature: 0, maxNewTokens: 4 });
  await loadModel(page, 'local:tiny-llama');
  const reference = await ReferenceChat.create('tiny-llama', 'q8');
  const message = '인터넷 없이도 돼요?';
  await replyTo(page, () => send(page, message));
  expect(await lastReplyText(page)).toBe(reference.reply([{ role: 'user', content: message }], 4).text);
});
