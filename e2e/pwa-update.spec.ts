/**
 * Updates of the installed app: two builds of different content on a plain static host; the
 * second is published while the first is open. The reload finds it and shows the prompt (prompt
 * mode: nothing changes by itself); the user accepts while a reply is streaming, and the new
 * version takes over only once the reply has finished, which is then complete and intact.
 * Backend: the default, Automatic (WASM beside SwiftShader here), q4 chosen for its pace.
 */
import { expect, test } from '@playwright/test';
import { lastReplyText, loadModel, send, setSampling } from './support/app.ts';
import { buildApp } from './support/build-app.ts';
import { emulateCores } from './support/pwa.ts';
import { ReferenceChat } from './support/reference.ts';
import { startStaticHost } from './support/static-host.ts';

const MESSAGE = '업데이트 중에도 답변은 끝까지! Keep going.';
const NEW_TOKENS = 120;

test('a new build shows the update prompt; accepted mid-reply, it waits for the reply to finish, then loads', async ({ browser }) => {
  const reference = await ReferenceChat.create('tiny-llama', 'q4');
  const expected = reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS);
  // Long enough that the click lands while the reply streams: ~12 s on this project's 2-core CI
  // (WASM ~10 tokens/s), over a second even at 100 tokens/s. The test fails loudly (the Stop
  // button gone before the deferral is asserted), never passes wrongly, if a machine outruns it.
  expect(expected.ids.length).toBe(NEW_TOKENS);

  const host = await startStaticHost({ root: buildApp('a'), subPath: '/apps/hanmadi/' });
  const context = await browser.newContext();
  const page = await context.newPage();
  const html = page.locator('html');
  try {
    await page.goto(`${host.url}?lang=en`);
    await expect(page.getByTestId('offline-ready')).toBeVisible();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await expect(html).toHaveAttribute('data-build', 'a');

    host.setRoot(buildApp('b'));
    await page.reload(); // the browser checks sw.js on navigation and installs version b
    const notice = page.getByTestId('update-notice');
    await expect(notice).toContainText('A new version of Hanmadi is available.');
    await expect(html).toHaveAttribute('data-build', 'a');

    emulateCores(page, 2); // single-threaded WASM: the reply is reproducible
    await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
    // q4, not WASM's default q8: the reply's length above is timed for q4's speed.
    await loadModel(page, 'local:tiny-llama', { dtype: 'q4' });
    await send(page, MESSAGE);
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
    await notice.getByRole('button', { name: 'Update now' }).click();
    await expect(notice).toContainText('as soon as the current reply, model download or import has finished');
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
    await expect(html).toHaveAttribute('data-build', 'a');

    // The reply ends, the new version takes over and the page reloads into it.
    await expect(html).toHaveAttribute('data-build', 'b', { timeout: 120_000 });
    await expect(page.getByTestId('update-notice')).toHaveCount(0);
    const reply = page.getByRole('article', { name: 'Hanmadi' }).last();
    await expect(reply.getByTestId('message-text')).not.toBeEmpty();
    await expect(reply).not.toContainText('Interrupted');
    expect(await lastReplyText(page)).toBe(expected.text);
  } finally {
    await context.close();
    await host.close();
  }
});
