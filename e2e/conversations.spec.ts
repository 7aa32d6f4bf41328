/**
 * Conversations end to end in Chromium with the tiny model on WebAssembly (WebGPU is not the
 * point here, and WASM decodes ~40× faster than SwiftShader): the sidebar (new, order by
 * activity, rename, Hangul search, delete with undo, reopen the last one), per-conversation
 * settings reaching the model, export / import, keyboard shortcuts, and the Korean UI with
 * localized dates. One page and one model load are shared by the serial steps. On WASM the app
 * loads q8; its reply is compared with the reference only on a conversation's first turn (a fresh
 * prefill, as the reference runs it: q8's numbers depend on how a sequence is split into runs).
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { expect, test, type Page } from '@playwright/test';
import { lastReplyText, lastStats, loadModel, messages, openApp, replyTo, send, setSampling, waitForReply } from './support/app.ts';
import {
  conversationAction,
  conversationRow,
  conversationRows,
  downloadText,
  exportFile,
  importConversations,
  importFile,
  sidebar,
} from './support/conversations.ts';
import { ReferenceChat } from './support/reference.ts';

test.describe.configure({ mode: 'serial' });

const WEATHER = '오늘 날씨 어때요';
const HELLO = 'Hello there, what should I WEAR today?';

let page: Page;
let reference: ReferenceChat;

const chatTitle = () => page.locator('#chat-title');
/** A row's open button (its name is the title and the time; the ⋯ button's name also holds the title). */
const startsWith = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
const notice = () => sidebar(page).getByTestId('transfer-notice');

async function chat(text: string): Promise<void> {
  await replyTo(page, () => send(page, text));
}

test.beforeAll(async ({ browser }) => {
  reference = await ReferenceChat.create('tiny-llama', 'q8');
  page = await browser.newPage();
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: 2 });
  await loadModel(page, 'local:tiny-llama');
});

test.afterAll(async () => {
  await page.close();
});

test('sidebar: new chats ordered by activity, rename, Hangul search, delete with undo, the last one reopens', async () => {
  await chat(WEATHER);
  await expect(conversationRows(page).first()).toContainText(WEATHER);
  await expect(chatTitle()).toHaveText(WEATHER);

  await sidebar(page).getByRole('button', { name: 'New chat' }).click();
  await expect(chatTitle()).toHaveText('New chat');
  await expect(messages(page)).toHaveCount(0);
  // New chats keep the open one's settings (greedy, 2 tokens here).
  await chat(HELLO);
  await expect(conversationRows(page).nth(0)).toContainText(HELLO);
  await expect(conversationRows(page).nth(1)).toContainText(WEATHER);
  await expect(
    conversationRows(page)
      .nth(0)
      .getByRole('button', { name: startsWith(HELLO) }),
  ).toHaveAttribute('aria-current', 'page');

  // Activity moves a conversation to the top.
  await conversationRow(page, WEATHER)
    .getByRole('button', { name: startsWith(WEATHER) })
    .click();
  await expect(chatTitle()).toHaveText(WEATHER);
  await chat('내일은 비가 올까요?');
  await expect(conversationRows(page).nth(0)).toContainText(WEATHER);

  await conversationAction(page, WEATHER, 'Rename');
  const titleField = sidebar(page).getByRole('textbox', { name: 'Conversation title' });
  await expect(titleField).toBeFocused();
  await titleField.fill('서울 날씨');
  await titleField.press('Enter');
  await expect(conversationRows(page).nth(0)).toContainText('서울 날씨');
  await expect(chatTitle()).toHaveText('서울 날씨');
  await expect(sidebar(page).getByRole('button', { name: /^서울 날씨/ })).toBeFocused();

  // Search: Hangul substring, decomposed (NFD) input, Latin in any case; other versions too.
  const search = sidebar(page).getByRole('searchbox', { name: 'Search conversations' });
  const results = sidebar(page).getByRole('list', { name: 'Search results' });
  await search.fill('날씨');
  await expect(results.getByRole('listitem')).toHaveCount(1);
  await expect(results.getByRole('listitem')).toContainText('서울 날씨');
  await expect(results.locator('mark')).toHaveText('날씨');
  await search.fill('날씨'.normalize('NFD'));
  await expect(results.getByRole('listitem')).toHaveCount(1);
  await search.fill('wear');
  await expect(results.getByRole('listitem')).toHaveCount(1);
  await expect(results.locator('mark')).toHaveText('WEAR');
  await search.fill('비가');
  await expect(results.getByRole('listitem')).toContainText('서울 날씨');
  await search.fill('없는 말');
  await expect(sidebar(page).getByRole('status').filter({ hasText: 'No conversation matches.' })).toBeVisible();
  // A hit opens its conversation at the matching message.
  await search.fill('wear');
  // The highlight fades after a moment, so it is recorded as it appears rather than looked for later.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { foundMessages: string[] }).foundMessages = seen;
    new MutationObserver(() => document.querySelectorAll('.message-found').forEach((m) => seen.push(m.textContent ?? ''))).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['class'],
    });
  });
  await results.getByRole('button').click();
  await expect(chatTitle()).toHaveText(HELLO);
  await expect.poll(() => page.evaluate(() => (window as unknown as { foundMessages: string[] }).foundMessages.join('\n'))).toContain(HELLO);
  await expect(page.locator('article.message', { hasText: HELLO }).first()).toBeInViewport();
  await search.press('Escape');
  await expect(search).toHaveValue('');

  // Delete with undo: the row goes, Undo (focused, so Enter works) brings it back whole.
  await conversationAction(page, HELLO, 'Delete');
  await expect(conversationRow(page, HELLO)).toHaveCount(0);
  await expect(chatTitle()).toHaveText('서울 날씨'); // the next most recent opens
  const undo = sidebar(page).getByRole('button', { name: 'Undo' });
  await expect(undo).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(conversationRow(page, HELLO)).toHaveCount(1);
  await expect(chatTitle()).toHaveText(HELLO);
  await expect(messages(page)).toHaveCount(2);

  // The open conversation reopens after a reload.
  await conversationRow(page, '서울 날씨')
    .getByRole('button', { name: /^서울 날씨/ })
    .click();
  await page.reload();
  await expect(chatTitle()).toHaveText('서울 날씨');
  await expect(messages(page)).toHaveCount(4);
  await loadModel(page, 'local:tiny-llama');
});

test('settings: ko/en presets, generation_config defaults, and the system prompt and sampling reach the model', async () => {
  await sidebar(page).getByRole('button', { name: 'New chat' }).click();
  await page.getByRole('button', { name: 'Settings' }).click();
  const panel = page.getByRole('complementary', { name: 'Conversation settings' });

  // The tiny model's generation_config.json says temperature 0.6, top_p 0.9; this chat overrides temperature.
  await expect(panel.getByText('Model default: 0.6')).toBeVisible();
  await expect(panel.getByText('Model default: 0.9')).toBeVisible();
  await expect(panel.getByLabel('Top-p')).toHaveAttribute('placeholder', '0.9');
  await expect(panel.getByLabel('Temperature')).toHaveValue('0');

  const preset = panel.getByLabel('Prompt preset');
  const prompt = panel.getByLabel('System prompt');
  await preset.selectOption({ label: 'Korean assistant (한국어)' });
  await expect(prompt).toHaveValue(/^당신은 한마디/);
  await preset.selectOption({ label: 'English assistant' });
  await expect(prompt).toHaveValue(/^You are Hanmadi/);
  await prompt.fill('짧게 답하세요.');
  await expect(preset).toHaveValue('custom');

  await panel.getByLabel('Temperature').fill('9');
  await expect(panel.getByLabel('Temperature')).toHaveAttribute('aria-invalid', 'true');
  await expect(panel.getByText('Allowed: 0 to 5')).toBeVisible();
  await panel.getByLabel('Temperature').fill('0');
  await panel.getByLabel('Max new tokens').fill('3');
  await panel.getByRole('button', { name: 'Close' }).click();

  const turn = [
    { role: 'system' as const, content: '짧게 답하세요.' },
    { role: 'user' as const, content: '안녕하세요!' },
  ];
  reference.forget();
  const expected = reference.reply(turn, 3);
  await chat('안녕하세요!');
  expect(await lastReplyText(page)).toBe(expected.text);
  expect(await lastStats(page)).toMatchObject({ prefill: expected.promptTokens, decode: expected.ids.length - 1 });

  await page.getByRole('button', { name: 'Settings' }).click();
  await panel.getByRole('button', { name: 'Model defaults' }).click();
  await expect(panel.getByLabel('Temperature')).toHaveValue('');
  await expect(panel.getByLabel('Max new tokens')).toHaveValue('');
  await panel.getByLabel('Temperature').fill('0');
  await panel.getByLabel('Max new tokens').fill('2');
  await panel.getByLabel('Max new tokens').press('Escape'); // Esc closes the panel
  await expect(panel).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Settings' })).toBeFocused();
});

test('export / import: JSON round trip with new ids, Markdown, and bad files change nothing', async () => {
  const title = '서울 날씨';
  await conversationRow(page, title)
    .getByRole('button', { name: /^서울 날씨/ })
    .click();

  const json = await downloadText(page, () => conversationAction(page, title, 'Export as JSON'));
  expect(json.name).toMatch(/^hanmadi-서울-날씨-\d{4}-\d{2}-\d{2}\.json$/);
  const file = JSON.parse(json.text);
  expect(file).toMatchObject({ format: 'hanmadi-conversations', version: 2 });
  expect(file.conversations).toHaveLength(1);
  expect(file.conversations[0].title).toBe(title);
  expect(file.conversations[0].messages.map((m: { content: string }) => m.content)).toEqual(expect.arrayContaining([WEATHER, '내일은 비가 올까요?']));
  expect(file.conversations[0].messages).toHaveLength(4);

  const markdown = await downloadText(page, () => conversationAction(page, title, 'Export as Markdown'));
  expect(markdown.name).toMatch(/\.md$/);
  expect(markdown.text).toMatch(new RegExp(`^# ${title}\n\n## You\n\n${WEATHER}\n\n## Hanmadi\n\n`));

  const count = await conversationRows(page).count();
  await importFile(page, json.text, json.name);
  await expect(notice()).toHaveText(/Imported conversations: 1\./);
  await expect(conversationRows(page)).toHaveCount(count + 1);
  await expect(messages(page)).toHaveCount(4);

  const all = JSON.parse((await downloadText(page, () => sidebar(page).getByRole('button', { name: 'Export all (JSON)' }).click())).text);
  expect(all.conversations).toHaveLength(count + 1);
  const copies = all.conversations.filter((c: { title: string }) => c.title === title);
  expect(copies).toHaveLength(2);
  expect(copies[0].id).not.toBe(copies[1].id);
  const ids = (c: { messages: { id: string }[] }) => c.messages.map((m) => m.id);
  expect(ids(copies[0]).filter((id: string) => ids(copies[1]).includes(id))).toEqual([]);

  const allMarkdown = await downloadText(page, () => sidebar(page).getByRole('button', { name: 'Export all (Markdown)' }).click());
  expect(allMarkdown.text.split('\n---\n')).toHaveLength(count + 1);
  expect(allMarkdown.text.split(`\n# ${title}\n`)).toHaveLength(3);

  const valid = exportFile([{ title: 'never imported', messages: [{ role: 'user', content: 'x' }] }]);
  const broken = exportFile([{ title: 'never imported', messages: [{ role: 'user', content: 'x' }] }]) as {
    conversations: { messages: { parentId: string }[] }[];
  };
  broken.conversations[0].messages[0].parentId = 'missing';
  const bad: [string | Buffer, RegExp][] = [
    ['{"format": "hanmadi-conversations", ', /not valid JSON/],
    ['{"hello": "world"}', /not a Hanmadi conversation export/],
    [JSON.stringify({ ...valid, version: 99 }), /format version 99/],
    [JSON.stringify(broken), /damaged or incomplete \(at conversations\[0\]\.messages\[0\]\.parentId\)/],
    [Buffer.alloc(32 * 1024 * 1024 + 1, 0x20), /too large to import \(the limit is 32 MB\)/],
  ];
  for (const [contents, message] of bad) {
    await importFile(page, contents, 'bad.json');
    await expect(notice()).toHaveText(message);
    await expect(notice()).toContainText('Nothing was imported.');
    await expect(notice()).toHaveAttribute('role', 'alert');
  }
  await expect(conversationRows(page)).toHaveCount(count + 1);
  await expect(sidebar(page).getByRole('button', { name: /^never imported/ })).toHaveCount(0);
  await notice().getByRole('button', { name: 'Dismiss' }).click();
});

test('keyboard: help dialog, shortcuts (new chat, search, composer), Esc stops a reply from anywhere', async () => {
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toBeVisible();
  await expect(help.getByRole('definition')).toHaveText([
    'New chat',
    'Search conversations',
    'Go to the message box',
    'Send the message',
    'New line in the message',
    'Stop the reply (from anywhere)',
    'Show this list',
  ]);
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await expect(help).toBeVisible();
  await help.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByRole('button', { name: 'Keyboard shortcuts' })).toBeFocused();

  // "/" from outside a field focuses the message box; Ctrl+K the search; Ctrl+Shift+O a new chat.
  await page.keyboard.press('/');
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeFocused();
  await page.keyboard.press('Control+K');
  await expect(sidebar(page).getByRole('searchbox')).toBeFocused();
  await page.keyboard.press('Control+Shift+O');
  await expect(chatTitle()).toHaveText('New chat');
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeFocused();
  await expect(
    conversationRows(page)
      .first()
      .getByRole('button', { name: /^New chat/ }),
  ).toHaveAttribute('aria-current', 'page');

  // Esc while the focus is in the sidebar stops the reply.
  await setSampling(page, { maxNewTokens: 400 });
  await send(page, '길게 설명해 주세요.');
  await expect(page.getByTestId('stats')).toHaveText(/Generating… ([2-9]|\d\d+) tokens/);
  await sidebar(page).getByRole('searchbox').focus();
  await page.keyboard.press('Escape');
  await waitForReply(page);
  const stopped = page.getByRole('article', { name: 'Hanmadi' }).last();
  await expect(stopped.getByText('Stopped')).toBeVisible();
  expect((await lastStats(page)).decode).toBeLessThan(399);
  await setSampling(page, { maxNewTokens: 2 });
});

test('keyboard only: a conversation menu, rename and delete/undo work without a mouse, with focus kept in place', async () => {
  const row = conversationRows(page).first();
  const more = row.getByRole('button', { name: /^Actions for/ });
  await more.focus();
  await page.keyboard.press('Enter');
  await expect(more).toHaveAttribute('aria-expanded', 'true');
  await expect(row.getByRole('button', { name: 'Rename' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(more).toHaveAttribute('aria-expanded', 'false');
  await expect(more).toBeFocused();

  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter'); // Rename
  await page.keyboard.type('키보드만으로');
  await page.keyboard.press('Enter');
  await expect(row.getByRole('button', { name: /^키보드만으로/ })).toBeFocused();

  await page.keyboard.press('Tab'); // → ⋯
  await page.keyboard.press('Enter');
  for (let i = 0; i < 3; i++) await page.keyboard.press('Tab'); // Rename → JSON → Markdown → Delete
  await expect(row.getByRole('button', { name: 'Delete' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(sidebar(page).getByRole('button', { name: /^키보드만으로/ })).toHaveCount(0);
  await page.keyboard.press('Enter'); // Undo has the focus
  await expect(sidebar(page).getByRole('button', { name: /^키보드만으로/ })).toHaveCount(1);
});

test('bilingual: the switch turns the whole UI Korean, with Korean dates and translated errors', async () => {
  await importConversations(page, [{ title: 'March', updatedAt: Date.UTC(2024, 2, 5, 12), messages: [{ role: 'user', content: '봄' }] }]);
  const march = conversationRow(page, /^March/);
  await expect(march.locator('time')).toHaveText('Mar 5, 2024');

  await page.getByRole('combobox', { name: 'Language' }).selectOption('ko');
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  const nav = page.getByRole('navigation', { name: '대화 목록' });
  await expect(nav.getByRole('button', { name: '새 대화' })).toBeVisible();
  await expect(page.getByRole('button', { name: '설정' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: '메시지' })).toBeVisible();
  await expect(nav.getByRole('listitem').filter({ hasText: 'March' }).locator('time')).toHaveText('2024. 3. 5.');
  await expect(page.getByRole('button', { name: '복사', exact: true }).first()).toBeVisible();

  const chooser = page.waitForEvent('filechooser');
  await nav.getByRole('button', { name: '가져오기…' }).click();
  await (await chooser).setFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('not json') });
  await expect(nav.getByTestId('transfer-notice')).toHaveText(/올바른 JSON 파일이 아닙니다\. 아무것도 가져오지 않았습니다\./);
  await nav.getByTestId('transfer-notice').getByRole('button', { name: '닫기' }).click();

  // Korean first-class: the font stack names Korean system faces before generic sans-serif.
  const font = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
  expect(font).toMatch(/Apple SD Gothic Neo.*Malgun Gothic.*Noto Sans KR/);

  await page.goto('./'); // no ?lang=: the remembered choice applies
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await page.getByRole('combobox', { name: '언어' }).selectOption('en');
  await expect(page.getByRole('button', { name: 'Settings' })).toBeVisible();
});
