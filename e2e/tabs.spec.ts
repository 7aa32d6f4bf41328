/**
 * Several tabs on one conversation (pages of one browser context share IndexedDB and Web Locks):
 * a tab that starts while another writes a reply leaves that reply alone, a second tab cannot
 * write in the conversation meanwhile (it is told so, and nothing is stored), and when the
 * writing tab dies mid-reply the others mark the reply Interrupted. WASM: the subject is the
 * tabs, not WebGPU.
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { expect, test, type Page } from '@playwright/test';
import { loadModel, messages, MODEL_STEP_TIMEOUT, openApp, send, setSampling } from './support/app.ts';
import { conversationRow } from './support/conversations.ts';

const MODEL = 'local:tiny-llama';
const QUESTION = '두 탭에서 같은 대화를 열면?';

function reply(page: Page) {
  return page.getByRole('article', { name: 'Hanmadi' }).last();
}

test('a reply another tab is writing is neither interrupted nor written twice; its tab dying marks it Interrupted', async ({ context }) => {
  const writer = await context.newPage();
  const second = await context.newPage();
  // The second tab is ready first (its own model load), so the writer's reply is still streaming when it tries.
  await openApp(second);
  await loadModel(second, MODEL);

  await openApp(writer);
  // A long reply (greedy; the tiny model does not end it early), stopped by closing its tab.
  await setSampling(writer, { temperature: 0, maxNewTokens: 1500 });
  await loadModel(writer, MODEL);
  await send(writer, QUESTION);
  await expect(reply(writer).getByTestId('message-text')).not.toBeEmpty({ timeout: MODEL_STEP_TIMEOUT });

  await conversationRow(second, QUESTION).getByRole('button', { name: QUESTION }).first().click();
  await expect(reply(second).getByText('Being written in another tab', { exact: true })).toBeVisible();
  const box = second.getByRole('textbox', { name: 'Message' });
  await box.fill('제가 대신 쓸게요');
  await box.press('Enter');
  // Sending first counts the context in this tab's worker, which shares the CPU with the writer's.
  await expect(second.getByRole('alert')).toContainText('Another tab is writing a reply in this conversation.', { timeout: MODEL_STEP_TIMEOUT });
  await expect(box).toHaveValue('제가 대신 쓸게요');
  await expect(messages(second)).toHaveCount(2);

  // A tab started now (the start-up sweep) leaves the reply being written alone.
  const third = await context.newPage();
  await openApp(third);
  await expect(reply(third).getByText('Being written in another tab', { exact: true })).toBeVisible();
  await expect(messages(third)).toHaveCount(2);
  await expect(writer.getByRole('button', { name: 'Stop' })).toBeVisible();

  // The writer goes away mid-reply: the tabs still open see the reply cut off, and can continue it.
  await writer.close();
  for (const page of [second, third]) {
    await expect(reply(page).getByText('Interrupted', { exact: true })).toBeVisible();
  }
  await expect(reply(second).getByRole('button', { name: 'Continue' })).toBeEnabled();
});
