/**
 * The chat foundation end to end, in real Chromium: the real worker, transformers.js and
 * IndexedDB, against replies computed independently by the TypeScript reference.
 * Backends: the first test chooses Run on → GPU (WebGPU; SwiftShader here, no shader-f16, so q4)
 * and streams one short reply, then stops one where a token takes seconds; the conversation flows
 * after it run on the default, Automatic (WASM beside a software adapter), with q4 chosen so every
 * reply compares with the same q4 reference.
 * One page is shared by the serial steps on the default device: each builds on the last turn.
 */
import { expect, test, type Page } from '@playwright/test';
import {
  lastReplyText,
  lastStats,
  loadModel,
  messages,
  MODEL_STEP_TIMEOUT,
  openApp,
  replyTo,
  send,
  setSampling,
  stopMidReply,
  waitForReply,
} from './support/app.ts';
import { ReferenceChat, type ChatTurn } from './support/reference.ts';

test.describe.configure({ mode: 'serial' });

const MODEL = 'tiny-llama';
const FIRST = '안녕하세요! 오늘 서울 날씨 어때요? What should I wear?';
const SECOND = '그럼 내일은요? And tomorrow?';
const STOP_MESSAGE = '길게 설명해 주세요. Tell me more.';
const NEW_TOKENS = 6;
/** On the GPU: a prefill and two decode steps, each q4 step ~6 s on SwiftShader. */
const GPU_NEW_TOKENS = 3;

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

test('GPU (WebGPU): loads the tiny model, streams the reference reply to a Korean message with stats, and Stop halts the next within a token or two', async ({
  page: gpuPage,
}) => {
  await openApp(gpuPage);
  await setSampling(gpuPage, { temperature: 0, maxNewTokens: GPU_NEW_TOKENS });
  await loadModel(gpuPage, `local:${MODEL}`, { device: 'webgpu' });
  await expect(gpuPage.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();

  const gpuHistory: ChatTurn[] = [{ role: 'user', content: FIRST }];
  const expected = reference.reply(gpuHistory, GPU_NEW_TOKENS);
  await send(gpuPage, FIRST);
  await expect(gpuPage.getByRole('button', { name: 'Stop' })).toBeVisible();
  // Streaming: part of the reply is on screen while the Stop button is still there.
  const reply = gpuPage.getByRole('article', { name: 'Hanmadi' }).last().getByTestId('message-text');
  await expect(reply).not.toBeEmpty({ timeout: MODEL_STEP_TIMEOUT });
  await expect(gpuPage.getByRole('button', { name: 'Stop' })).toBeVisible();
  await waitForReply(gpuPage);

  expect(await lastReplyText(gpuPage)).toBe(expected.text);
  const stats = await lastStats(gpuPage);
  expect(stats).toMatchObject({ prefill: expected.promptTokens, reused: 0, decode: expected.ids.length - 1 });
  expect(stats.ttftMs).toBeGreaterThan(0);
  await expect(gpuPage.getByTestId('stats')).toContainText(/TTFT \d[\d,.]* ms .* tok\/s/);

  // Stop where a token takes seconds (q4 on SwiftShader), so a token or two is a real bound: the
  // engine halts at its first step after the request; on WASM a click's round trip spans tokens.
  await setSampling(gpuPage, { maxNewTokens: 40 });
  gpuHistory.push({ role: 'assistant', content: expected.text }, { role: 'user', content: STOP_MESSAGE });
  await send(gpuPage, STOP_MESSAGE);
  const shownAtClick = await stopMidReply(gpuPage);
  const generated = (await lastStats(gpuPage)).decode + 1;
  expect(generated).toBeGreaterThanOrEqual(shownAtClick);
  expect(generated).toBeLessThanOrEqual(shownAtClick + 2);
  // What was kept is exactly the start of the reference reply.
  expect(await lastReplyText(gpuPage)).toBe(reference.reply(gpuHistory, generated).text);
  reference.forget();
});

test('the default device (WASM here) replies with the reference to a Korean message, with stats', async () => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await loadModel(page, `local:${MODEL}`, { dtype: 'q4' });
  await expect(page.getByText(/^Loaded: .*\(WASM, q4\)$/)).toBeVisible();

  history.push({ role: 'user', content: FIRST });
  const expected = reference.reply(history, NEW_TOKENS);
  await replyTo(page, () => send(page, FIRST));

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

test('Stop keeps the reply so far, and the next message reuses its cache', async () => {
  await setSampling(page, { maxNewTokens: 120 });
  history.push({ role: 'user', content: STOP_MESSAGE });
  await send(page, STOP_MESSAGE);
  const shownAtClick = await stopMidReply(page);
  const stats = await lastStats(page);
  const generated = stats.decode + 1;
  expect(generated).toBeGreaterThanOrEqual(shownAtClick);
  expect(generated).toBeLessThan(120);
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
