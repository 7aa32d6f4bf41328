/**
 * Long context end to end, in Chromium (q4): tiny-llama-ctx64 has a
 * native window of only 64 tokens. The context-length setting offers longer windows with their KV
 * memory; loaded at 256 tokens, the worker serves a YaRN-patched config and graph over the stored
 * originals, and a ~160-token prompt gets exactly the TypeScript reference's reply under the
 * patched config — which differs from the unpatched model's reference, so the patch is what makes
 * it right. Then the conversation outgrows the window: the oldest turn is left out (the system
 * prompt stays), the UI says which, the reply equals the reference on the kept messages, the KV
 * cache resets once and extends on the next turn; a message longer than the window is refused and
 * stays in the composer. Lengths the GPU's buffer limits refuse are shown with the reason (an
 * adapter with small limits, faked in the worker). The CPU path's own precision (q8 on WASM) gets
 * its YaRN reference reply past the native window too. 4 new tokens per reply.
 * Backends: the YaRN reply chooses Run on → GPU (WebGPU on SwiftShader here), the patched graph on
 * the GPU; the conversation then goes on, reloaded on the default (Automatic: WASM here), since
 * leaving turns out is the worker's and the same on any device; the GPU limits case is WebGPU's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { formatBytes } from '../src/i18n/format.ts';
import type { HfLlamaConfig } from '../src/model/config.ts';
import { patchConfigForContext } from '../src/model/yarn.ts';
import { lastReplyText, lastStats, loadEnded, loadModel, messages, openApp, pressLoad, replyTo, send, setSampling } from './support/app.ts';
import { sidebar } from './support/conversations.ts';
import { ReferenceChat, type ChatTurn } from './support/reference.ts';

test.describe.configure({ mode: 'serial' });

const MODEL = 'tiny-llama-ctx64';
const CONTEXT = 256;
const NEW_TOKENS = 4;
const SYSTEM = 'You are Hanmadi, a helpful bilingual assistant. Answer in the language of the question.';
const FIRST =
  '안녕하세요! 오늘 서울 날씨 어때요? And what should I wear for a walk along the Han river this evening? 그리고 내일 부산 날씨는 어떨까요? ' +
  'Will it rain there, and should I pack an umbrella for the weekend trip to Haeundae beach? 마지막으로, 부산에서 꼭 먹어 봐야 할 음식은 뭐예요? ' +
  'And how do I say "thank you" politely to the owner of a small restaurant? 시장에서 현금을 써야 하나요, 아니면 카드도 되나요? Is it rude to tip in Korea? 감사합니다!';
const SECOND =
  '부산에서 꼭 가 봐야 할 곳을 세 군데만 알려 주세요. 감천문화마을, 해동용궁사, 광안리 중에서 고르면 어디가 좋을까요? ' +
  'Please also tell me how long the KTX train from Seoul takes, whether I should book seats in advance, and which station is closest to the beach. ' +
  'Thank you so much for all of your help today, it made planning this trip much easier!';
const THIRD = '고마워요!';

const config = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'models', MODEL, 'config.json'), 'utf8')) as HfLlamaConfig;
/** K and V × layers × KV heads × head_dim × 4 bytes (q4 graphs keep a float32 cache). */
const kvPerToken = 2 * config.num_hidden_layers * config.num_key_value_heads! * config.head_dim! * 4;

let page: Page;
let patched: ReferenceChat;
let unpatched: ReferenceChat;
const history: ChatTurn[] = [{ role: 'system', content: SYSTEM }];

const contextSelect = () => page.getByRole('combobox', { name: 'Context length' });
const budget = () => page.getByTestId('context-budget');
const box = () => page.getByRole('textbox', { name: 'Message' });

test.beforeAll(async ({ browser }) => {
  patched = await ReferenceChat.create(MODEL, 'q4', (c) => patchConfigForContext(c, CONTEXT));
  unpatched = await ReferenceChat.create(MODEL, 'q4');
  page = await browser.newPage();
});

test.afterAll(async () => {
  await page.close();
});

test('the context-length setting offers longer windows with the KV memory each costs, and remembers the choice per model', async () => {
  expect(config.max_position_embeddings).toBe(64);
  await openApp(page);
  await page.getByRole('combobox', { name: 'Model' }).selectOption(`local:${MODEL}`);
  const options = contextSelect().getByRole('option');
  // Native 64, then powers of two up to 64 × 4.4 (Kanana's YaRN factor).
  await expect(options).toHaveText([
    `64 tokens (native) · KV ${formatBytes(64 * kvPerToken)}`,
    `128 tokens (YaRN ×2) · KV ${formatBytes(128 * kvPerToken)}`,
    `256 tokens (YaRN ×4) · KV ${formatBytes(256 * kvPerToken)}`,
  ]);
  await expect(contextSelect()).toHaveValue('64'); // the default: the native window
  await expect(page.getByTestId('context-length-hint')).toContainText(`at 64 tokens: ${formatBytes(64 * kvPerToken)}`);
  await expect(page.getByTestId('context-length-hint')).not.toContainText('YaRN');
  await contextSelect().selectOption(String(CONTEXT));
  await expect(page.getByTestId('context-length-hint')).toContainText(`at 256 tokens: ${formatBytes(256 * kvPerToken)}, ${formatBytes(kvPerToken)} per token`);
  await expect(page.getByTestId('context-length-hint')).toContainText('stretched with YaRN');

  // Another model has its own length (its default); coming back finds the choice.
  await page.getByRole('combobox', { name: 'Model' }).selectOption('local:tiny-llama');
  await expect(contextSelect()).toHaveValue('4096');
  await page.getByRole('combobox', { name: 'Model' }).selectOption(`local:${MODEL}`);
  await expect(contextSelect()).toHaveValue(String(CONTEXT));
});

test('loaded past its native window, a long prompt gets the YaRN reference reply, not the unpatched model’s', async () => {
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS, systemPrompt: SYSTEM });
  await loadModel(page, `local:${MODEL}`, { device: 'webgpu' });
  await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();
  await expect(page.getByTestId('context-info')).toHaveText('Context: 256 tokens (YaRN ×4 over the native 64)');

  history.push({ role: 'user', content: FIRST });
  const expected = patched.reply(history, NEW_TOKENS);
  const wrong = unpatched.reply(history, NEW_TOKENS);
  expect(expected.promptTokens).toBeGreaterThan(2 * 64); // far past the native window
  expect(expected.text).not.toBe(wrong.text); // the patch matters for this prompt

  // The budget while typing: what this prompt takes of the window, counted by the worker.
  await box().fill(FIRST);
  await expect(budget()).toHaveText(`Context: ${expected.promptTokens} / 256 tokens`);
  await replyTo(page, () => send(page, FIRST));

  const reply = await lastReplyText(page);
  expect(reply).toBe(expected.text);
  expect(reply).not.toBe(wrong.text);
  expect(await lastStats(page)).toMatchObject({ prefill: expected.promptTokens, reused: 0, decode: expected.ids.length - 1 });
  history.push({ role: 'assistant', content: expected.text });
});

test('a conversation that outgrows the window leaves out whole oldest turns, says which, and the reply equals the reference on what was kept; the KV cache resets once, then extends', async () => {
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('auto');
  await loadModel(page, `local:${MODEL}`, { dtype: 'q4' });
  await expect(page.getByText(/^Loaded: .*\(WASM, q4\)$/)).toBeVisible();
  await expect(page.getByTestId('context-info')).toHaveText('Context: 256 tokens (YaRN ×4 over the native 64)');

  const everything = [...history, { role: 'user' as const, content: SECOND }];
  patched.forget();
  expect(patched.promptIds(everything).ids.length + NEW_TOKENS).toBeGreaterThan(CONTEXT); // it cannot all fit
  const kept: ChatTurn[] = [history[0], { role: 'user', content: SECOND }];
  const expected = patched.reply(kept, NEW_TOKENS);

  await box().fill(SECOND);
  await expect(budget()).toHaveText(`Context: ${expected.promptTokens} / 256 tokens · oldest turns left out to fit: 1`);
  await replyTo(page, () => send(page, SECOND));
  expect(await lastReplyText(page)).toBe(expected.text);
  const dropped = await lastStats(page);
  expect(dropped).toMatchObject({ prefill: expected.promptTokens, reused: 0, decode: expected.ids.length - 1 }); // the prefix changed: reset

  // The first turn (question and reply) is marked; the system prompt and the rest are not.
  const all = messages(page);
  await expect(all).toHaveCount(4);
  for (const i of [0, 1]) await expect(all.nth(i).getByText('Left out of context')).toBeVisible();
  for (const i of [2, 3]) await expect(all.nth(i).getByText('Left out of context')).toHaveCount(0);
  await expect(all.nth(3).getByTestId('context-note')).toHaveText('Earlier turns left out to fit the 256-token context: 1.');

  // The next turn keeps the same start, so the cache extends instead of resetting again.
  kept.push({ role: 'assistant', content: expected.text }, { role: 'user', content: THIRD });
  const next = patched.reply(kept, NEW_TOKENS);
  await replyTo(page, () => send(page, THIRD));
  expect(await lastReplyText(page)).toBe(next.text);
  const extended = await lastStats(page);
  // The whole kept prompt and the reply's tokens (its last one was never fed back) come from the cache.
  expect(extended.reused).toBe(expected.promptTokens + expected.ids.length - 1);
  expect(extended.prefill).toBe(next.promptTokens - extended.reused);
  await expect(all).toHaveCount(6);
  for (const i of [0, 1]) await expect(all.nth(i).getByText('Left out of context')).toBeVisible();
});

test('a message longer than the whole window is refused with a clear error and stays in the composer', async () => {
  const tooLong = `${'서울의 가을 날씨는 맑고 선선해요. '.repeat(25)}The end.`;
  expect(patched.tokenizer.encode(tooLong).length).toBeGreaterThan(CONTEXT);
  await box().fill(tooLong);
  await expect(budget()).toContainText(/^Too long: this message takes \d+ tokens; at most \d+ fit in the 256-token context\.$/);
  await box().press('Enter');
  await expect(page.getByRole('alert')).toContainText('This message is too long for the 256-token context');
  await expect(box()).toHaveValue(tooLong);
  await expect(messages(page)).toHaveCount(6);
});

test('on the CPU path (WASM, q8) past the native window, a new conversation gets the q8 YaRN reference reply, not the unpatched one', async () => {
  const q8Patched = await ReferenceChat.create(MODEL, 'q8', (c) => patchConfigForContext(c, CONTEXT));
  const q8Unpatched = await ReferenceChat.create(MODEL, 'q8');
  const turn: ChatTurn[] = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: FIRST },
  ];
  const expected = q8Patched.reply(turn, NEW_TOKENS);
  expect(expected.promptTokens).toBeGreaterThan(2 * 64);
  expect(expected.text).not.toBe(q8Unpatched.reply(turn, NEW_TOKENS).text);

  await sidebar(page).getByRole('button', { name: 'New chat', exact: true }).click();
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('wasm');
  await page.getByRole('combobox', { name: 'Precision' }).selectOption('auto');
  await pressLoad(page);
  // q4 is stored; the CPU's own precision is another download, which Load says first.
  await page.getByRole('dialog', { name: 'This is another download of the model' }).getByRole('button', { name: 'Download q8' }).click();
  await loadEnded(page, /^Loaded: .*\(WASM, q8\)$/);
  await expect(page.getByTestId('context-info')).toHaveText('Context: 256 tokens (YaRN ×4 over the native 64)');

  await box().fill(FIRST);
  await expect(budget()).toHaveText(`Context: ${expected.promptTokens} / 256 tokens`);
  await replyTo(page, () => send(page, FIRST));
  expect(await lastReplyText(page)).toBe(expected.text);
  expect(await lastStats(page)).toMatchObject({ prefill: expected.promptTokens, reused: 0, decode: expected.ids.length - 1 });
});

test('lengths whose buffers exceed the GPU’s limits are refused with the reason', async ({ browser }) => {
  // An adapter allowing 100 KiB per buffer (faked inside the LLM worker, where the probe runs):
  // at 256 tokens a whole-prompt prefill's feed-forward activations take 256 × 128 × 4 = 128 KiB.
  const limit = 100 * 1024;
  const context = await browser.newContext({ serviceWorkers: 'block' });
  const small = await context.newPage();
  await small.route(/\/assets\/llm\.worker-[^/]*\.js$/, async (route) => {
    const response = await route.fetch();
    const fake = `{const d=Object.getOwnPropertyDescriptor(GPUAdapter.prototype,'limits');Object.defineProperty(GPUAdapter.prototype,'limits',{get(){const l=d.get.call(this);return new Proxy(l,{get:(t,k)=>k==='maxBufferSize'||k==='maxStorageBufferBindingSize'?${limit}:t[k]});}});}\n`;
    await route.fulfill({ response, body: fake + (await response.text()) });
  });
  try {
    await openApp(small);
    // On the GPU: Automatic would run on WASM beside SwiftShader, where GPU limits do not bind.
    await small.getByRole('combobox', { name: 'Run on' }).selectOption('webgpu');
    await small.getByRole('combobox', { name: 'Model' }).selectOption(`local:${MODEL}`);
    const refused = small.getByRole('combobox', { name: 'Context length' }).getByRole('option', { name: '256 tokens — too large for this GPU' });
    await expect(refused).toBeDisabled();
    await expect(small.getByRole('combobox', { name: 'Context length' }).getByRole('option', { name: /^128 tokens/ })).toBeEnabled();
    await expect(small.getByTestId('context-length-hint')).toContainText(
      `Not offered on this GPU: 256 tokens. The feed-forward activations of a prompt would need ${formatBytes(256 * config.intermediate_size * 4)}, more than this GPU allows for one buffer (${formatBytes(limit)}).`,
    );
  } finally {
    await context.close();
  }
});
