/**
 * A huge export (200,000 messages in one conversation, generated here, under the caps) imports
 * completely while the page keeps answering: it is read, checked and written in batches in the
 * import worker. Cancel midway leaves nothing behind, nor (after the next start) a tab closed
 * midway; a file over a cap is refused, naming it; the conversation open before stays open.
 * Backend: none (no model is loaded).
 */
import { expect, test, type Page } from '@playwright/test';
import { openApp } from './support/app.ts';
import { writeFileSync } from 'node:fs';
import { exportFile, importConversations, importFile, importFileFromDisk, sidebar } from './support/conversations.ts';

const HUGE = 200_000;
const HUGE_TITLE = '이십만 개의 메시지';

/** One conversation of `count` short messages in a chain, as an export file. */
function hugeExport(count: number): Buffer {
  const file = exportFile([{ title: HUGE_TITLE, messages: [] }]) as { conversations: Record<string, unknown>[] };
  const ids = Array.from({ length: count }, (_, i) => `m${i.toString(36)}`);
  Object.assign(file.conversations[0], {
    activeLeafId: ids[count - 1],
    messages: ids.map((id, i) => ({
      id,
      parentId: i ? ids[i - 1] : '',
      role: i % 2 ? 'assistant' : 'user',
      content: `메시지 ${i}`,
      createdAt: 1_700_000_000_000 + i,
      status: 'complete',
    })),
  });
  return Buffer.from(JSON.stringify(file));
}

/** What IndexedDB holds, read in the page without the app. */
function stored(page: Page): Promise<{ conversations: number; messages: number; pending: number }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('hanmadi');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['conversations', 'messages', 'pendingImports']);
          const counts = { conversations: 0, messages: 0, pending: 0 };
          tx.objectStore('conversations').count().onsuccess = (e) => (counts.conversations = (e.target as IDBRequest<number>).result);
          tx.objectStore('messages').count().onsuccess = (e) => (counts.messages = (e.target as IDBRequest<number>).result);
          tx.objectStore('pendingImports').count().onsuccess = (e) => (counts.pending = (e.target as IDBRequest<number>).result);
          tx.oncomplete = () => (db.close(), resolve(counts));
        };
      }),
  );
}

function progress(page: Page) {
  return sidebar(page).getByTestId('import-progress');
}

/** Waits until the import under way has written some of its messages. */
async function writing(page: Page): Promise<void> {
  await expect(progress(page)).toContainText(/Importing conversations: [1-9][\d,]* of 200,000 messages saved/, { timeout: 120_000 });
}

test('a 200,000-message export imports completely while the page answers; Cancel leaves nothing; a file over a cap is refused', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  const file = testInfo.outputPath('huge.json');
  writeFileSync(file, hugeExport(HUGE));
  await openApp(page);
  await importConversations(page, [{ title: '사과 농장 대화', messages: [{ role: 'user', content: '사과나무는 언제 심나요?' }] }]);
  const before = await stored(page);

  await importFileFromDisk(page, file);
  await writing(page);
  // While it writes: the composer shows each character typed, and search finds the conversation that was there.
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.click();
  let typed = '';
  for (const character of 'still here') {
    await page.keyboard.type(character);
    typed += character;
    await expect(box).toHaveValue(typed);
  }
  const search = sidebar(page).getByRole('searchbox', { name: 'Search conversations' });
  await search.fill('사과나무');
  await expect(sidebar(page).getByRole('list', { name: 'Search results' }).getByRole('listitem')).toHaveCount(1);
  await expect(progress(page)).toBeVisible(); // all of that happened during the import
  await search.fill('');

  await expect(sidebar(page).getByTestId('transfer-notice')).toContainText('Imported conversations: 1.', { timeout: 240_000 });
  expect(await stored(page)).toEqual({ conversations: before.conversations + 1, messages: before.messages + HUGE, pending: 0 });
  // The conversation open before is still open; the import is in the list.
  await expect(page.locator('#chat-title')).toHaveText('사과 농장 대화');
  await expect(sidebar(page).getByRole('button', { name: new RegExp(`^${HUGE_TITLE}`) })).toHaveCount(1);
  const complete = await stored(page);

  // The same file again, cancelled midway: nothing of it stays.
  await importFileFromDisk(page, file);
  await writing(page);
  await progress(page).getByRole('button', { name: 'Cancel import' }).click();
  await expect(sidebar(page).getByTestId('transfer-notice')).toHaveText(/Import cancelled\. Nothing was imported\./);
  expect(await stored(page)).toEqual(complete);
  await expect(sidebar(page).getByRole('button', { name: new RegExp(`^${HUGE_TITLE}`) })).toHaveCount(1);

  // One message over the per-message cap (1,000,000 characters): refused, naming the limit.
  const tooLong = exportFile([{ title: '너무 긴 메시지', messages: [{ role: 'user', content: '가'.repeat(1_000_001) }] }]);
  await importFile(page, JSON.stringify(tooLong), 'too-long.json');
  await expect(sidebar(page).getByRole('alert')).toContainText(
    '(at conversations[0].messages[0].content: over 1,000,000 characters, the most Hanmadi imports there). Nothing was imported.',
  );
  expect(await stored(page)).toEqual(complete);

  // A tab that goes away mid-import leaves messages no conversation shows: the next start deletes them.
  const importer = await page.context().newPage();
  await openApp(importer);
  await importFileFromDisk(importer, file);
  await writing(importer);
  await importer.close();
  expect((await stored(page)).pending).toBe(1);
  await page.reload();
  await expect.poll(() => stored(page)).toEqual(complete);
  await expect(sidebar(page).getByRole('button', { name: new RegExp(`^${HUGE_TITLE}`) })).toHaveCount(1);
});
