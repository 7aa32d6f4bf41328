/**
 * Storage pressure while chatting: the browser refuses IndexedDB writes mid-reply, and the reply
 * still reaches the screen, marked Not saved, with a translated error, and the app is usable at
 * once. Conversations ask for persistent storage too. WASM (q8): the subject is storage, not WebGPU.
 *
 * The refusal is the browser's own QuotaExceededError, thrown by the page's IndexedDB write calls
 * from the moment the test says so. A CDP quota override (Storage.overrideQuotaForOrigin) would be
 * the natural way, but Chromium 156 does not enforce it on IndexedDB writes: with the quota at 1
 * byte and 66 MB used, a 100 kB put still commits (checked in incognito, with StaticStorageQuota
 * off, and in an on-disk profile).
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { expect, test } from '@playwright/test';
import { lastReplyText, loadModel, MODEL_STEP_TIMEOUT, openApp, send, setSampling, waitForReply } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';

const MODEL = 'tiny-llama';

declare global {
  interface Window {
    refuseStorageWrites?: boolean;
  }
}

/** From the moment `window.refuseStorageWrites` is set, the page's IndexedDB writes throw QuotaExceededError, as on a full disk. */
function refusableWrites(): void {
  const refuse = () => {
    if (window.refuseStorageWrites) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
  for (const [proto, name] of [
    [IDBObjectStore.prototype, 'put'],
    [IDBObjectStore.prototype, 'add'],
    [IDBCursor.prototype, 'update'],
  ] as const) {
    const original = (proto as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        refuse();
        return original.apply(this, args);
      },
    });
  }
}

test('a reply the browser refuses to store stays on screen, marked Not saved, and the app is usable at once', async ({ page }) => {
  const reference = await ReferenceChat.create(MODEL, 'q8');
  const message = '저장 공간이 가득 차면 어떻게 돼요?';
  const newTokens = 160;
  const expected = reference.reply([{ role: 'user', content: message }], newTokens);
  // The quota is cut while the reply streams: it must be long enough to still be streaming then.
  expect(expected.ids.length).toBe(newTokens);

  await page.addInitScript(refusableWrites);
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: newTokens });
  await loadModel(page, `local:${MODEL}`);

  await send(page, message);
  const reply = page.getByRole('article', { name: 'Hanmadi' }).last();
  await expect(reply.getByTestId('message-text')).not.toBeEmpty({ timeout: MODEL_STEP_TIMEOUT });
  // From here on every write of the page is refused (QuotaExceededError).
  await page.evaluate(() => (window.refuseStorageWrites = true));
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await waitForReply(page);

  await expect(page.getByRole('alert')).toContainText("The browser's storage is full, so this reply could not be saved.");
  await expect(reply.getByText('Not saved', { exact: true })).toBeVisible();
  expect(await lastReplyText(page)).toBe(expected.text);
  await expect(page.getByRole('log', { name: 'Conversation' })).toHaveAttribute('aria-busy', 'false');

  // Still refused: the next message is not sent, and the composer keeps it.
  const next = '다음 메시지';
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(next);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('alert')).toContainText('your message could not be saved and was not sent');
  await expect(box).toHaveValue(next);

  // Space again: after a reload the reply is what was saved before the quota ran out, marked Interrupted.
  await page.evaluate(() => (window.refuseStorageWrites = false));
  await page.reload();
  await expect(page.getByRole('article', { name: 'Hanmadi' }).last().getByText('Interrupted', { exact: true })).toBeVisible();
});

test('saving the first conversation asks the browser for persistent storage', async ({ page }) => {
  await page.addInitScript(() => {
    const calls = { persist: 0 };
    Object.assign(window, { persistCalls: calls });
    // Nothing granted, so every request the app makes is seen.
    navigator.storage.persisted = () => Promise.resolve(false);
    navigator.storage.persist = () => {
      calls.persist += 1;
      return Promise.resolve(false);
    };
  });
  const persistCalls = () => page.evaluate(() => (window as unknown as { persistCalls: { persist: number } }).persistCalls.persist);
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: 2 });
  await loadModel(page, `local:${MODEL}`);
  const afterModel = await persistCalls();

  await send(page, '안녕하세요');
  await expect.poll(persistCalls).toBe(afterModel + 1);
  await waitForReply(page);
});
