/**
 * The chat foundation end to end, in real Chromium with WebGPU (SwiftShader: no shader-f16, so
 * the app picks q4): the real worker, transformers.js and IndexedDB, against replies computed
 * independently by the TypeScript reference. One page is shared by the serial steps because a
 * model load and every generated token are slow on a CPU-emulated GPU.
 */
import { expect, test, type Page } from '@playwright/test';
import { lastReplyText, lastStats, loadModel, messages, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling, waitForReply } from './support/app.ts';
import { ReferenceChat, type ChatTurn } from './support/reference.ts';

test.describe.configure({ mode: 'serial' });

const MODEL = 'tiny-llama';
const FIRST = '안녕하세요! 오늘 서울 날씨 어때요? What should I wear?';
const SECOND = '그럼 내일은요? And tomorrow?';
const NEW_TOKENS = 6;

let page: Page;
let reference: ReferenceChat;
const history: ChatTurn[] = [];

test.beforeAll(async ({ browser }) => {
  reference = await ReferenceChat.create(MODEL, 'q4');
  page = await browser.newPage();
});

test.afterAll(async () => {
  await page.close();
});

test('loads the tiny model on WebGPU and streams the reference reply to a Korean message, with stats', async () => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await loadModel(page, `local:${MODEL}`, { device: 'webgpu' });
  await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();

  history.push({ role: 'user', content: FIRST });
  const expected = reference.reply(history, NEW_TOKENS);
  await send(page, FIRST);
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  // Streaming: part of the reply is on screen while the Stop button is still there.
  const reply = page.getByRole('article', { name: 'Hanmadi' }).last().getByTestId('message-text');
  await expect(reply).not.toBeEmpty({ timeout: MODEL_STEP_TIMEOUT });
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await waitForReply(page);

  expect(await lastReplyText(page)).toBe(expected.text);
  const stats = await lastStats(page);
  expect(stats).toMatchObject({ prefill: expected.promptTokens, reused: 0, decode: expected.ids.length - 1 });
  expect(stats.ttftMs).toBeGreaterThan(0);
  await expect(page.getByTestId('stats')).toContainText(/TTFT \d[\d,.]* ms .* tok\/s/);
  history.push({ role: 'assistant', content: expected.text });
});

test('a second turn prefills only its new tokens (KV reuse) and still equals the reference', async () => {
  const first = await lastStats(page);
  history.push({ role: 'user', content: SECOND });
  const expected = reference.reply(history, NEW_TOKENS);
  await replyTo(page, () => send(page, SECOND));

  const stats = await lastStats(page);
  // The cache covers turn 1's prompt and reply minus its last token (never fed to the model).
  expect(stats.reused).toBe(first.prefill + first.decode);
  expect(stats.prefill).toBe(expected.promptTokens - stats.reused);
  expect(stats.prefill).toBeLessThan(first.prefill);
  expect(await lastReplyText(page)).toBe(expected.text);
  history.push({ role: 'assistant', content: expected.text });
});

test('editing the first message makes a new version and resets the cache', async () => {
  const edited = '안녕! 부산 날씨는 어때요?';
  await messages(page).first().getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('textbox', { name: 'Edit message' }).fill(edited);
  await replyTo(page, () => page.getByRole('button', { name: 'Save and send' }).click());

  reference.forget();
  history.splice(0, history.length, { role: 'user', content: edited });
  const expected = reference.reply(history, NEW_TOKENS);
  expect(await lastStats(page)).toMatchObject({ reused: 0, prefill: expected.promptTokens });
  expect(await lastReplyText(page)).toBe(expected.text);
  await expect(messages(page)).toHaveCount(2);
  await expect(messages(page).first().getByRole('group', { name: 'Versions' })).toContainText('2/2');
  history.push({ role: 'assistant', content: expected.text });
});

test('Stop halts the reply within a token or two, keeps it, and the next message works', async () => {
  await setSampling(page, { maxNewTokens: 40 });
  history.push({ role: 'user', content: '길게 설명해 주세요. Tell me more.' });
  await send(page, history[history.length - 1].content);
  const progress = page.getByTestId('stats');
  await expect(progress).toHaveText(/Generating… ([2-9]|\d\d+) tokens/, { timeout: MODEL_STEP_TIMEOUT });
  const atClick = Number(/(\d+) tokens/.exec((await progress.textContent()) ?? '')?.[1]);
  await page.getByRole('button', { name: 'Stop' }).click();
  await waitForReply(page);

  const stopped = page.getByRole('article', { name: 'Hanmadi' }).last();
  await expect(stopped.getByText('Stopped')).toBeVisible();
  const stats = await lastStats(page);
  const generated = stats.decode + 1;
  expect(generated).toBeGreaterThanOrEqual(atClick);
  expect(generated).toBeLessThanOrEqual(atClick + 2);
  // What was kept is exactly the start of the reference reply.
  const partial = reference.reply(history, generated);
  expect(await lastReplyText(page)).toBe(partial.text);
  history.push({ role: 'assistant', content: partial.text });

  await setSampling(page, { maxNewTokens: 3 });
  history.push({ role: 'user', content: '고마워요!' });
  const expected = reference.reply(history, 3);
  await replyTo(page, () => send(page, '고마워요!'));
  expect(await lastReplyText(page)).toBe(expected.text);
  expect((await lastStats(page)).reused).toBe(stats.reused + stats.prefill + stats.decode);
  history.push({ role: 'assistant', content: expected.text });
});

test('Korean IME: Enter while composing does not send; Enter after the syllable is committed does', async () => {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill('');
  await box.focus();
  const cdp = await page.context().newCDPSession(page);
  const before = await messages(page).count();
  // 한 is typed as ㅎ → 하 → 한 with an IME; Enter arrives while 한 is still being composed.
  for (const text of ['ㅎ', '하', '한']) await cdp.send('Input.imeSetComposition', { text, selectionStart: 1, selectionEnd: 1 });
  // Chrome delivers this Enter with isComposing true (the browser may still break the line).
  await page.keyboard.press('Enter');
  await expect(box).toHaveValue(/^한\n?$/);
  expect(await messages(page).count()).toBe(before);

  await cdp.send('Input.insertText', { text: '한글' }); // commits the composition
  await expect(box).toHaveValue(/^한글\n?$/);
  await page.keyboard.press('Enter');
  await expect(messages(page)).toHaveCount(before + 2);
  await expect(messages(page).nth(before)).toContainText('한글');
  await waitForReply(page);
});
