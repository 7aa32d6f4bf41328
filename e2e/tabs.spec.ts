/**
 * Several tabs on one conversation (pages of one browser context share IndexedDB, Web Locks and
 * BroadcastChannel). While one tab writes a reply: it completes intact (equal to the reference),
 * the other tab shows it growing and never marks it interrupted, a reply started there is refused
 * with the reason (nothing stored), Stop pressed there stops it in the writing tab, a tab started
 * meanwhile leaves it alone, and when the writing tab dies mid-reply the others mark it Interrupted.
 * Backend: the default, Automatic (WASM beside SwiftShader here), q4 chosen so the first reply
 * compares with the q4 reference.
 */
import { expect, test, type Page } from '@playwright/test';
import { lastReplyText, loadModel, messages, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling, waitForReply } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';

const MODEL = 'tiny-llama';
const QUESTION = '두 탭에서 같은 대화를 열면?';
const FOLLOW_UP = '더 길게 이야기해 주세요.';
/** Long enough for the other tab to see a few of the writer's saves (one each 400 ms). */
const FIRST_TOKENS = 150;
/** Greedy replies the tiny model does not end early: they stream until stopped or their tab closes. */
const LONG_TOKENS = 1500;

interface ReplyView {
  status: string;
  text: string;
}
declare global {
  interface Window {
    __replyViews?: ReplyView[];
  }
}

function reply(page: Page) {
  return page.getByRole('article', { name: 'Hanmadi' }).last();
}

/** Records every state the page shows of its last reply (status and text), from now on. */
async function recordLastReply(page: Page): Promise<void> {
  await page.evaluate(() => {
    const views: ReplyView[] = [];
    window.__replyViews = views;
    const log = document.querySelector('[role="log"]');
    if (!log) throw new Error('No conversation on the page.');
    new MutationObserver(() => {
      const last = [...log.querySelectorAll('article.message-assistant')].pop();
      if (!last) return;
      const view = { status: last.getAttribute('data-status') ?? '', text: last.querySelector('[data-testid="message-text"]')?.textContent ?? '' };
      const previous = views.at(-1);
      if (previous?.status !== view.status || previous.text !== view.text) views.push(view);
    }).observe(log, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

test('two tabs on one conversation: one writer, the other watches it grow, is refused, can stop it, and marks it Interrupted only when its tab dies', async ({
  context,
}) => {
  const reference = await ReferenceChat.create(MODEL, 'q4');
  const expected = reference.reply([{ role: 'user', content: QUESTION }], FIRST_TOKENS);

  const writer = await context.newPage();
  await openApp(writer);
  await setSampling(writer, { temperature: 0, maxNewTokens: FIRST_TOKENS });
  // Opened second, it reopens the conversation the writer has open.
  const second = await context.newPage();
  await openApp(second);
  await loadModel(second, `local:${MODEL}`, { dtype: 'q4' });
  await loadModel(writer, `local:${MODEL}`, { dtype: 'q4' });

  // 1. The writer's reply completes intact; the second tab watched it grow and never cut it off.
  await recordLastReply(second);
  await replyTo(writer, () => send(writer, QUESTION));
  expect(await lastReplyText(writer)).toBe(expected.text);
  await expect(reply(second)).toHaveAttribute('data-status', 'complete');
  expect(await lastReplyText(second)).toBe(expected.text);
  const views = (await second.evaluate(() => window.__replyViews)) ?? [];
  expect(views.map((v) => v.status)).not.toContain('interrupted');
  const grown = new Set(views.filter((v) => v.status === 'streaming' && v.text).map((v) => v.text));
  expect(grown.size, 'the second tab showed the reply growing').toBeGreaterThanOrEqual(2);

  // 2. While the writer streams a long reply, the second tab is refused, and its Stop stops it there.
  await setSampling(writer, { maxNewTokens: LONG_TOKENS });
  await send(writer, FOLLOW_UP);
  await expect(reply(second).getByText('Being written in another tab', { exact: true })).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });
  const box = second.getByRole('textbox', { name: 'Message' });
  await box.fill('제가 대신 쓸게요');
  await box.press('Enter');
  // Sending first counts the context in this tab's worker, which shares the CPU with the writer's.
  await expect(second.getByRole('alert')).toContainText('Another tab is writing a reply in this conversation.', { timeout: MODEL_STEP_TIMEOUT });
  await expect(box).toHaveValue('제가 대신 쓸게요');
  await expect(messages(second)).toHaveCount(4);
  await reply(second).getByRole('button', { name: 'Stop', exact: true }).click();
  await waitForReply(writer);
  for (const page of [writer, second]) await expect(reply(page).getByText('Stopped', { exact: true })).toBeVisible();
  await expect(messages(writer)).toHaveCount(4);

  // 3. The writer continues it; a tab started now (the start-up sweep) leaves it alone.
  await reply(writer).getByRole('button', { name: 'Continue' }).click();
  await expect(writer.getByRole('button', { name: 'Stop' })).toBeVisible();
  const third = await context.newPage();
  await openApp(third);
  await expect(reply(third).getByText('Being written in another tab', { exact: true })).toBeVisible();
  await expect(messages(third)).toHaveCount(4);
  await expect(writer.getByRole('button', { name: 'Stop' })).toBeVisible();

  // 4. The writer goes away mid-reply: the tabs still open see the reply cut off, and can continue it.
  await writer.close();
  for (const page of [second, third]) {
    await expect(reply(page).getByText('Interrupted', { exact: true })).toBeVisible();
  }
  await expect(reply(second).getByRole('button', { name: 'Continue' })).toBeEnabled();
});
