/**
 * Comfort without a model: the dark / light / system theme (remembered across reloads), and a
 * layout that works at 360 px wide (no sideways scrolling, the sidebar as a drawer, settings
 * and the composer reachable, the model's details behind a disclosure); at 360, 768 and 1280 px in Korean and English, the storage
 * manager's table keeps its words whole and the model controls keep Add model on their row.
 * Backend: none (no model is loaded).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { openApp } from './support/app.ts';
import { conversationRow, importConversations, showSidebar, sidebar } from './support/conversations.ts';
import { addStoredModelRecord } from './support/store.ts';

// No model is loaded here: a stuck step should fail fast, not after the suite's 10 minutes.
test.describe.configure({ timeout: 60_000 });

const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const LIGHT = 'rgb(247, 247, 245)';
const DARK = 'rgb(20, 20, 19)';

test('theme: light, dark or the system’s, remembered', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await openApp(page);
  const theme = page.getByRole('combobox', { name: 'Theme' });
  await expect(theme).toHaveValue('system');
  expect(await background(page)).toBe(LIGHT);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(() => background(page)).toBe(DARK);

  await theme.selectOption('light');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await expect.poll(() => background(page)).toBe(LIGHT); // beats the dark system setting
  await page.reload();
  await expect(page.getByRole('combobox', { name: 'Theme' })).toHaveValue('light');
  expect(await background(page)).toBe(LIGHT);

  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
  await expect.poll(() => background(page)).toBe(DARK);
  expect(await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme)).toBe('dark');

  await page.getByRole('combobox', { name: 'Theme' }).selectOption('system');
  await expect(page.locator('html')).not.toHaveAttribute('data-theme');
  await expect.poll(() => background(page)).toBe(LIGHT);
});

test('360 px wide: no sideways scrolling, the sidebar is a drawer, settings and composer reachable', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await openApp(page);
  const wide = 'Ｗｉｄｅ'.repeat(20);
  await importConversations(page, [
    { title: '첫 번째 대화', messages: [{ role: 'user', content: '안녕하세요' }] },
    {
      title: '좁은 화면',
      messages: [
        { role: 'user', content: `아주긴한국어단어가줄바꿈없이계속이어지는경우에도화면을넘지않아야합니다 ${wide}` },
        { role: 'assistant', content: `| a | b | c | d | e |\n|---|---|---|---|---|\n| ${wide} | 2 | 3 | 4 | 5 |\n\n\`\`\`js\nconst x = "${wide}";\n\`\`\`` },
      ],
    },
  ]);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(await overflow()).toBe(0);

  // The drawer over the chat; Esc inside it closes it.
  const toggle = page.getByRole('button', { name: 'Conversations' });
  await showSidebar(page);
  const box = await sidebar(page).boundingBox();
  expect(box!.x).toBe(0);
  expect(box!.width).toBeLessThanOrEqual(360);
  await sidebar(page).getByRole('searchbox').press('Escape');
  await expect(sidebar(page)).toHaveCount(0);
  await expect(toggle).toBeFocused();

  // At this width the drawer starts closed; the toggle opens it with the keyboard in it.
  await page.reload();
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(sidebar(page)).toHaveCount(0);
  expect(await overflow()).toBe(0);
  await toggle.click();
  await expect(sidebar(page)).toBeVisible();
  await expect(sidebar(page).getByRole('searchbox')).toBeFocused();
  // What the drawer covers is inert: out of the keyboard's and screen readers' reach.
  await expect(page.locator('main')).toHaveAttribute('inert', '');
  expect(await page.evaluate(() => (document.getElementById('composer-input')?.focus(), document.activeElement?.id))).not.toBe('composer-input');

  // Choosing a conversation closes the drawer.
  await conversationRow(page, /^첫 번째 대화/)
    .getByRole('button', { name: /^첫 번째 대화/ })
    .click();
  await expect(sidebar(page)).toHaveCount(0);
  await expect(page.locator('#chat-title')).toHaveText('첫 번째 대화');
  await expect(page.locator('main')).not.toHaveAttribute('inert');

  await page.getByRole('button', { name: 'Settings' }).click();
  const settings = page.getByRole('complementary', { name: 'Conversation settings' });
  await expect(settings).toBeInViewport();
  await expect(settings.getByLabel('Temperature')).toBeVisible();
  expect(await overflow()).toBe(0);
  await settings.getByRole('button', { name: 'Close' }).click();

  const composer = page.getByRole('textbox', { name: 'Message' });
  await expect(composer).toBeInViewport({ ratio: 1 });
  const composerBox = await composer.boundingBox();
  expect(composerBox!.x + composerBox!.width).toBeLessThanOrEqual(360);

  // The model's details wait behind a disclosure; opened, they scroll inside the header and the
  // composer stays whole on the screen (the page itself never scrolls).
  const hint = page.getByTestId('context-length-hint');
  await expect(hint).toBeHidden();
  await page.getByText('About this model').click();
  await hint.scrollIntoViewIfNeeded();
  await expect(hint).toBeInViewport();
  await expect(composer).toBeInViewport({ ratio: 1 });
  expect(await page.evaluate(() => document.documentElement.scrollHeight - document.documentElement.clientHeight)).toBe(0);
});

/** The UI's own words for the controls these checks find, per language. */
const locale = (lang: string) => JSON.parse(readFileSync(new URL(`../src/i18n/${lang}.json`, import.meta.url), 'utf8'));

/** How many lines an element's text takes (its text boxes' distinct tops). */
function textLines(element: Locator): Promise<number> {
  return element.evaluate((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
  });
}

/** The words of an element's text that a line break cuts in two (none when lines break at spaces only). */
function brokenWords(element: Locator): Promise<string[]> {
  return element.evaluate((el) => {
    const broken: string[] = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of (node.textContent ?? '').matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        if (new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size > 1) broken.push(word[0]);
      }
    }
    return broken;
  });
}

for (const lang of ['en', 'ko']) {
  test(`${lang}: at 360, 768 and 1280 px the storage manager's headers and buttons keep their words whole; at 1280 px Add model stays on the model row`, async ({
    page,
  }) => {
    const text = locale(lang);
    // Narrowest first: the sidebar then starts closed, and stays so (a drawer over the chat would hide the panel).
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`./?lang=${lang}`);
    const model = page.getByRole('combobox', { name: text.models.picker, exact: true });
    await expect(model).toBeEnabled();
    // Rows without a download: one complete, one partial with a long name and precision.
    await addStoredModelRecord(page, { modelKey: 'local:tiny-llama', dtype: 'q4', label: 'Tiny Llama', totalBytes: 47_309_967, status: 'complete' });
    await addStoredModelRecord(page, {
      modelKey: 'exaone-3.5-2.4b-instruct',
      dtype: 'q4f16',
      label: 'EXAONE 3.5 2.4B Instruct',
      totalBytes: 1_740_000_000,
      status: 'partial',
    });
    // Picking a model shows the context length select; it is enabled once the config is read.
    await model.selectOption('local:tiny-llama');
    const contextLength = page.getByRole('combobox', { name: text.models.contextLength });
    await expect(contextLength).toBeEnabled();
    await page.getByRole('button', { name: text.storage.open, exact: true }).click();
    const panel = page.getByRole('complementary', { name: text.storage.title });
    const table = panel.getByRole('table');
    await expect(table.getByRole('row')).toHaveCount(3);

    for (const width of [360, 768, 1280]) {
      await page.setViewportSize({ width, height: 740 });
      const at = `${lang} at ${width} px`;
      expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), `${at}: no sideways scrolling`).toBe(0);
      // Every header on one line ("정밀도" used to stack letter by letter), every Delete too.
      for (const header of await table.getByRole('columnheader').all()) {
        const name = (await header.textContent()) ?? '';
        if (name === text.storage.delete) continue; // the Delete column's header is visually hidden
        expect(await textLines(header), `${at}: header “${name}” on one line`).toBe(1);
      }
      const deletes = table.getByRole('button');
      await expect(deletes).toHaveCount(2);
      for (const button of await deletes.all()) expect(await textLines(button), `${at}: “${await button.textContent()}” on one line`).toBe(1);
      // Delete all's confirmation: Cancel and the long confirm button wrap at spaces only.
      await panel.getByRole('button', { name: text.storage.deleteAll }).click();
      const cancel = panel.getByRole('button', { name: text.models.cancel, exact: true });
      for (const button of [cancel, panel.getByRole('button', { name: text.storage.confirmDeleteAll })]) {
        expect(await brokenWords(button), `${at}: “${await button.textContent()}” breaks at spaces only`).toEqual([]);
      }
      await cancel.click();

      if (width === 1280) {
        // The controls sit on one row, bottoms aligned: Add model is not on a row of its own.
        const bottom = async (control: Locator) => ((b) => b!.y + b!.height)(await control.boundingBox());
        const addModel = page.getByRole('button', { name: text.models.add, exact: true });
        expect(Math.abs((await bottom(addModel)) - (await bottom(model))), `${at}: Add model on the model row`).toBeLessThan(1);
        expect(Math.abs((await bottom(contextLength)) - (await bottom(model))), `${at}: context length on the model row`).toBeLessThan(1);
      }
    }
  });
}
