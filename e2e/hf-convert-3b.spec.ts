/**
 * The 3B catalog entry converts in the browser from its official repository, in real Chromium:
 * the real catalog's Llama 3.2 Korean Bllossom 3B (public/models.json, `Bllossom/llama-3.2-Korean-Bllossom-3B`)
 * is served by the mock Hub with the tiny-llama3 fixture's checkpoint standing in for its 6.4 GB
 * of weights (the same layout: llama3 RoPE, tied head, two bf16 shards with their index). The
 * picker shows its licence; Load converts it (q4, chosen, on the default device: WASM beside
 * SwiftShader here) and the chat replies exactly what the TypeScript reference computes on the q4 graph's effective weights,
 * for a prompt that runs past the fixture's 64-token original RoPE window.
 */
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { FIXTURES, FIXTURES_DIR } from '../src/testing/fixture-specs.ts';
import { startMockHub, type MockHub } from '../src/testing/mock-hub.ts';
import { weightReads } from '../src/testing/checkpoint-reads.ts';
import { lastReplyText, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling } from './support/app.ts';
import { ReferenceChat } from './support/reference.ts';
import { storedModel } from './support/store.ts';
import { useMockHub } from './support/hub.ts';

const FIXTURE = 'tiny-llama3';
const REPO = 'Bllossom/llama-3.2-Korean-Bllossom-3B';
const MODEL_ID = 'llama-3.2-korean-bllossom-3b';
const NEW_TOKENS = 4;
const MESSAGE =
  '안녕하세요! 오늘 서울 날씨가 어떤지, 그리고 주말에 부산 여행을 가려면 무엇을 챙겨야 할지 알려 주세요. ' +
  '기차표는 언제 예매하는 게 좋을까요? Please answer in Korean and English, briefly, and mention the weather in Busan too.';

let hub: MockHub;
let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  hub = await startMockHub({ repos: { [REPO]: { dir: join(FIXTURES_DIR, 'checkpoints', FIXTURE) } }, redirectLfs: true });
  context = await browser.newContext();
  await useMockHub(context, hub.url);
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
  await hub?.close();
});

test('the 3B catalog entry shows its licence, converts from its Hub repository in the browser and chats like the reference', async () => {
  expect(FIXTURES[FIXTURE].config.rope_scaling?.rope_type).toBe('llama3');
  const reference = await ReferenceChat.create(FIXTURE, 'q4');
  const expected = reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS);
  expect(expected.promptTokens).toBeGreaterThan(64); // past original_max_position_embeddings

  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker.locator(`option[value="${MODEL_ID}"]`)).toHaveText(/Llama 3\.2 Korean Bllossom 3B — converted in your browser/);
  await picker.selectOption(MODEL_ID);
  await page.getByRole('combobox', { name: 'Precision' }).selectOption('q4');
  await expect(page.getByText(/^Licence: Llama 3\.2 Community License: commercial use allowed under Meta's terms/)).toBeVisible();
  // Before anything is fetched but config.json: what it downloads, stores and needs, and its makers' Korean score.
  const facts = page.getByTestId('model-facts');
  await expect(facts).toContainText(/Downloads \d+(\.\d)? MB of original weights once \(not kept\) and stores \d+(\.\d)? MB \(q4\)\./);
  await expect(facts).toContainText(/Needs about \d+(\.\d)? MB of memory: \d+(\.\d)? MB of weights and \d+(\.\d)? [KM]B of KV cache at 1,024 tokens\./);
  await expect(facts).toContainText("Korean, as published by the makers (Bllossom's model card): LogicKor low 6s, the best of models up to 5B.");

  await page.getByRole('button', { name: 'Load model' }).click();
  await expect(page.getByText(/^Loaded: Llama 3\.2 Korean Bllossom 3B \(WASM, q4\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });
  // It came from the official repository's two shards, converted here: the store holds q4 output only.
  const reads = weightReads(hub.log);
  expect(new Set(reads.map((r) => r.file))).toEqual(new Set(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']));
  expect(reads.every((r) => r.repo === REPO)).toBe(true);
  const stored = (await storedModel(page, MODEL_ID, 'q4'))!;
  expect(stored.status).toBe('complete');
  expect(stored.revision).toBe(hub.shaOf(REPO));

  await replyTo(page, () => send(page, MESSAGE));
  expect(await lastReplyText(page)).toBe(expected.text);
});
