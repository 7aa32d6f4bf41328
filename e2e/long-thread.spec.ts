/**
 * A very long conversation stays quick to open: 5,000 messages (an import's worth of years) whose
 * last reply is a 200 kB Markdown text. The thread renders its end and more on demand, a search
 * hit deep in it is shown with "Show later" leading back, and the long reply is there in full.
 * No model: the subject is rendering.
 * Backend: none (no model is loaded).
 */
import { expect, test } from '@playwright/test';
import { THREAD_PAGE } from '../src/features/chat/thread-window.ts';
import { openApp } from './support/app.ts';
import { importConversations, sidebar, type TestMessage } from './support/conversations.ts';

const COUNT = 5000;
const HIT = 10;
const WORD = '고양이섬';

test('a 5,000-message thread opens by its end, earlier and later parts on demand, a deep search hit shown, a 200 kB reply whole', async ({ page }) => {
  const longReply = Array.from({ length: 2400 }, (_, i) => `문단 ${i + 1}: 서울의 오래된 골목과 시장 이야기를 이어서 적습니다.`).join('\n\n');
  expect(Buffer.byteLength(longReply)).toBeGreaterThan(200_000);
  const messages: TestMessage[] = Array.from({ length: COUNT }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: i === COUNT - 1 ? longReply : i === HIT ? `${WORD}에 가는 배는 몇 시에 있나요? (${i})` : `메시지 ${i}`,
  }));
  await openApp(page);
  await importConversations(page, [{ title: '아주 긴 대화', messages }]);
  await sidebar(page)
    .getByRole('button', { name: /^아주 긴 대화/ })
    .click();

  const articles = page.getByRole('log', { name: 'Conversation' }).getByRole('article');
  await expect(articles).toHaveCount(THREAD_PAGE);
  await expect(articles.last().getByTestId('message-text')).toContainText('문단 2400: 서울의 오래된 골목');
  expect(
    await articles
      .last()
      .getByTestId('message-text')
      .evaluate((e) => (e as HTMLElement).innerText.length),
  ).toBeGreaterThan(longReply.length - 2400);

  await page.getByRole('button', { name: `Show earlier messages (${(COUNT - THREAD_PAGE).toLocaleString('en')} more)` }).click();
  await expect(articles).toHaveCount(2 * THREAD_PAGE);
  // What was on screen stays there: the message that was first is still in view.
  await expect(articles.nth(THREAD_PAGE)).toBeInViewport();

  // A search hit near the start: the window moves to it, with a way back to the end.
  await sidebar(page).getByRole('searchbox', { name: 'Search conversations' }).fill(WORD);
  await sidebar(page).getByRole('list', { name: 'Search results' }).getByRole('button').first().click();
  const hit = articles.filter({ hasText: `${WORD}에 가는 배는` });
  await expect(hit).toBeInViewport();
  await expect(articles).toHaveCount(THREAD_PAGE);
  const later = page.getByRole('button', { name: /^Show later messages \(/ });
  await expect(later).toHaveText(`Show later messages (${(COUNT - (HIT - 5) - THREAD_PAGE).toLocaleString('en')} more)`);
  await later.click();
  await expect(articles).toHaveCount(2 * THREAD_PAGE);
  await expect(hit).toHaveCount(1);
});
