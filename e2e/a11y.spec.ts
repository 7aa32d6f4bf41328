/**
 * axe-core on each screen, in the light and the dark theme, with real content (a conversation
 * with Markdown, code, a table, versions and status badges). No model is loaded: what is checked
 * is the UI. To check another screen, add an entry to SCREENS: a name and how to open it.
 * Backend: none (no model is loaded).
 */
import { expect, test, type Page } from '@playwright/test';
import { expectNoSeriousA11yViolations, textContrast } from './support/a11y.ts';
import { openApp } from './support/app.ts';
import { exportFile, importFile, showSidebar, sidebar } from './support/conversations.ts';
import { addStoredModelRecord } from './support/store.ts';

// No model is loaded here: a stuck step should fail fast, not after the suite's 10 minutes.
test.describe.configure({ timeout: 60_000 });

const REPLY = [
  '## 요약',
  '',
  '| 도시 | 날씨 |',
  '| --- | --- |',
  '| 서울 | 맑음 |',
  '',
  '```python',
  'print("안녕")',
  '```',
  '',
  'See [the docs](https://example.com).',
].join('\n');

/** A conversation whose reply has two versions, a stopped reply and a failed one. */
function richConversation(): string {
  const file = exportFile([
    {
      title: '접근성 점검',
      systemPrompt: '존댓말로 답하세요.',
      messages: [
        { role: 'user', content: '오늘 날씨를 표로 보여 주세요.' },
        { role: 'assistant', content: REPLY },
        { role: 'user', content: '더 길게 설명해 주세요.' },
        { role: 'assistant', content: '부분적인 답변', status: 'stopped' },
      ],
    },
  ]) as { conversations: { activeLeafId: string; messages: { id: string; parentId: string; status: string; content: string; createdAt: number }[] }[] };
  const messages = file.conversations[0].messages;
  // An older version of the first reply (a sibling), and a failed reply as the last message.
  messages.push({ ...messages[1], id: 'older-version', content: '이전 답변', createdAt: messages[1].createdAt - 10 });
  messages.push({ ...messages[3], id: 'failed-reply', parentId: messages[3].id, content: '', status: 'error', createdAt: messages[3].createdAt + 10 });
  file.conversations[0].activeLeafId = 'failed-reply';
  return JSON.stringify(file);
}

/** A conversation with Markdown, its ⋯ menu open in the sidebar. */
async function openConversationMenu(page: Page): Promise<void> {
  await importFile(page, richConversation());
  await sidebar(page)
    .getByRole('button', { name: /^Actions for/ })
    .first()
    .click();
}

const SCREENS: { name: string; open(page: Page): Promise<void> }[] = [
  {
    name: 'chat',
    open: async (page) => {
      await importFile(page, richConversation());
      await sidebar(page)
        .getByRole('button', { name: /^접근성 점검/ })
        .first()
        .click();
      await expect(page.getByRole('group', { name: 'Versions' })).toBeVisible();
    },
  },
  {
    name: 'attached documents',
    open: async (page) => {
      const chooser = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: 'Attach file' }).click();
      await (await chooser).setFiles({ name: '회의록.txt', mimeType: 'text/plain', buffer: Buffer.from('출시는 6월 둘째 주입니다.') });
      await expect(page.getByRole('listitem', { name: '회의록.txt' })).toBeVisible();
    },
  },
  {
    name: 'settings',
    open: async (page) => {
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByLabel('Temperature').fill('9'); // an out-of-range value shows its error
      await expect(page.getByRole('complementary', { name: 'Conversation settings' })).toBeVisible();
    },
  },
  {
    name: 'sidebar search and conversation menu',
    open: async (page) => {
      await openConversationMenu(page);
      await sidebar(page).getByRole('searchbox').fill('날씨');
      await expect(sidebar(page).locator('mark').first()).toBeVisible();
    },
  },
  {
    name: 'conversation menu',
    open: async (page) => {
      await openConversationMenu(page);
      const remove = sidebar(page).getByRole('button', { name: 'Delete', exact: true });
      await expect(remove).toBeVisible();
      expect(await textContrast(remove), 'the ⋯ menu’s Delete is readable').toBeGreaterThanOrEqual(4.5);
    },
  },
  {
    name: 'storage manager confirming Delete all',
    open: async (page) => {
      await addStoredModelRecord(page, { modelKey: 'local:tiny-llama', dtype: 'q4', label: 'Tiny Llama', totalBytes: 47_309_967, status: 'complete' });
      await page.getByRole('button', { name: 'Storage', exact: true }).click();
      const panel = page.getByRole('complementary', { name: 'Stored models' });
      await panel.getByRole('button', { name: 'Delete all stored models' }).click();
      const confirm = panel.getByRole('button', { name: 'Really delete all? (conversations are kept)' });
      await expect(confirm).toBeVisible();
      expect(await textContrast(confirm), 'Delete all’s confirmation is readable').toBeGreaterThanOrEqual(4.5);
    },
  },
  {
    name: 'keyboard shortcuts dialog',
    open: async (page) => {
      await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
      await expect(page.getByRole('dialog')).toBeVisible();
    },
  },
  {
    name: 'narrow screen with the drawer open',
    open: async (page) => {
      await page.setViewportSize({ width: 360, height: 740 });
      await importFile(page, richConversation()); // leaves the drawer open over the chat
      await expect(sidebar(page).getByTestId('transfer-notice')).toBeVisible();
      await showSidebar(page);
    },
  },
];

for (const theme of ['light', 'dark'] as const) {
  for (const screen of SCREENS) {
    test(`${screen.name} (${theme} theme): no serious or critical axe violations`, async ({ page }) => {
      await page.emulateMedia({ colorScheme: theme });
      await openApp(page);
      await screen.open(page);
      await expectNoSeriousA11yViolations(page, `${screen.name} (${theme})`);
    });
  }
}
