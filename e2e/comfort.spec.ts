/**
 * Comfort without a model: the dark / light / system theme (remembered across reloads), and a
 * layout that works at 360 px wide (no sideways scrolling, the sidebar as a drawer, settings
 * and the composer reachable).
 */
import { expect, test, type Page } from '@playwright/test';
import { openApp } from './support/app.ts';
import { conversationRow, importConversations, sidebar } from './support/conversations.ts';

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

  // The import opened the drawer over the chat; Esc inside it closes it.
  const toggle = page.getByRole('button', { name: 'Conversations' });
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
  await conversationRow(page, /^첫 번째 대화/).getByRole('button', { name: /^첫 번째 대화/ }).click();
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
  await expect(composer).toBeInViewport();
  const composerBox = await composer.boundingBox();
  expect(composerBox!.x + composerBox!.width).toBeLessThanOrEqual(360);
});
