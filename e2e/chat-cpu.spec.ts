/**
 * The chat on the CPU path, in real Chromium: Run on → CPU (WebAssembly) with Auto precision loads
 * q8, the CPU's own graph (int8 DynamicQuantizeMatMul). Streaming with stats, KV reuse across
 * turns and an edit that resets the cache: every reply equals the TypeScript reference computing
 * as q8 does, run on the same cache the app kept (q8 quantizes activations per run, so a reused
 * cache is matched by running only the new tokens after it: ReferenceChat.replyOnCache). Replies
 * are short: long q8 replies are not bitwise reproducible across ONNX Runtime builds (the README's
 * Tests section: WASM left the reference at token 23 of a 60-token reply), so Stop, which needs a
 * long reply, is chat.spec's (q4 on WASM).
 * One page is shared by the serial steps: each builds on the last turn.
 */
import { expect, test, type Page } from '@playwright/test';
import { lastReplyText, lastStats, loadModel, messages, openApp, replyTo, send, setSampling } from './support/app.ts';
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
  reference = await ReferenceChat.create(MODEL, 'q8');
  page = await browser.newPage();
});

test.afterAll(async () => {
  await page.close();
});

test('Run on → CPU loads q8 and streams the q8 reference reply to a Korean message, with stats', async () => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await loadModel(page, `local:${MODEL}`, { device: 'wasm' });
  await expect(page.getByText(/^Loaded: .*\(WASM, q8\)$/)).toBeVisible();

  history.push({ role: 'user', content: FIRST });
  const expected = reference.replyOnCache(history, NEW_TOKENS);
  expect(expected.reused).toBe(0);
  await replyTo(page, () => send(page, FIRST));
  expect(await lastReplyText(page)).toBe(expected.text);
  const stats = await lastStats(page);
  expect(stats).toMatchObject({ prefill: expected.promptTokens, reused: 0, decode: expected.ids.length - 1 });
  expect(stats.ttftMs).toBeGreaterThan(0);
  await expect(page.getByTestId('stats')).toContainText(/TTFT \d[\d,.]* ms .* tok\/s/);
  history.push({ role: 'assistant', content: expected.text });
});

test('a second turn runs only its new tokens on the reused cache and equals the reference on that cache', async () => {
  const first = await lastStats(page);
  history.push({ role: 'user', content: SECOND });
  const expected = reference.replyOnCache(history, NEW_TOKENS);
  await replyTo(page, () => send(page, SECOND));
  const stats = await lastStats(page);
  expect(stats.reused).toBe(first.prefill + first.decode);
  expect(expected.reused).toBe(stats.reused);
  expect(stats.prefill).toBe(expected.promptTokens - stats.reused);
  expect(await lastReplyText(page)).toBe(expected.text);
  history.push({ role: 'assistant', content: expected.text });
});

test('editing the first message makes a new version and resets the cache', async () => {
  const edited = '안녕! 부산 날씨는 어때요?';
  await messages(page).first().getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('textbox', { name: 'Edit message' }).fill(edited);
  await replyTo(page, () => page.getByRole('button', { name: 'Save and send' }).click());

  history.splice(0, history.length, { role: 'user', content: edited });
  const expected = reference.replyOnCache(history, NEW_TOKENS);
  expect(expected.reused).toBe(0);
  expect(await lastStats(page)).toMatchObject({ reused: 0, prefill: expected.promptTokens });
  expect(await lastReplyText(page)).toBe(expected.text);
  await expect(messages(page).first().getByRole('group', { name: 'Versions' })).toContainText('2/2');
  history.push({ role: 'assistant', content: expected.text });
});
