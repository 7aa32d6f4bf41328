/**
 * In-browser conversion end to end, in real Chromium: a mock Hub (e2e/harness/mock-hub.ts: the
 * revision API, resolve with Range and LFS redirects, gated repos, a request log of byte ranges,
 * injected cuts) serves the tiny-llama fixture checkpoint in Hugging Face layout (bf16
 * safetensors, config, generation config, tokenizer files), and the app is pointed at it through
 * its Hub URL setting (localStorage `hanmadi.hubUrl`).
 * - "Add model" with the repo id finds no ONNX and a convertible checkpoint; Load converts it in
 *   the store worker with the estimate shown up front. The network is cut mid-conversion; after a
 *   reload, Load resumes and the Hub's log shows no finished tensor fetched again.
 * - The stored files, read back from IndexedDB, are byte-identical to the Node CLI's output for
 *   q4, and the chat greedily replies exactly what the TypeScript reference computes on the q4
 *   graph's effective weights. The same for q8 (the CPU path's int8 graph, converted after q4
 *   once Load has said it is another download), against the reference computing as q8 does.
 * - A byte of the checkpoint flipped in one response is caught by the check against the Hub's
 *   LFS sha256 before the model is marked complete: the conversion starts over, refetches it, and
 *   stores the CLI's bytes again.
 * - A gated (401), a missing (404) and an unsupported-architecture repo get their clear
 *   messages, from Add model and from Load (a catalog entry), saying what is unsupported (Qwen2: q/k/v biases); a conversion the quota cannot hold
 *   is refused from the estimate before any weight is fetched.
 * Backend: the default, Automatic (WASM beside SwiftShader here), with q4 chosen; conversion is
 * the store worker's, the same whatever device runs the model.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { chromium, expect, test, type BrowserContext, type Page } from '@playwright/test';
import { CHROMIUM_ARGS } from '../playwright.config.ts';
import { checkpointTensors, weightReads } from '../src/testing/checkpoint-reads.ts';
import { startMockHub, type MockHub } from '../src/testing/mock-hub.ts';
import { lastReplyText, MODEL_STEP_TIMEOUT, openApp, replyTo, send, setSampling } from './support/app.ts';
import { sidebar } from './support/conversations.ts';
import { ReferenceChat } from './support/reference.ts';
import { addUserModelRecord, storageUsage, storedDigests, storedModel } from './support/store.ts';
import { useMockHub } from './support/hub.ts';

test.describe.configure({ mode: 'serial' });

const ROOT = join(import.meta.dirname, '..');
const CHECKPOINT = join(ROOT, 'fixtures', 'checkpoints', 'tiny-llama');
const REPO = 'hanmadi/tiny-llama';
const KEY = `user:${REPO}@main`;
const FLIP_REPO = 'flip/tiny-llama';
const FLIP_KEY = `user:${FLIP_REPO}@main`;
const NEW_TOKENS = 4;
const MESSAGE = '안녕하세요, 반가워요!';

let hub: MockHub;
let context: BrowserContext;
let page: Page;
let reference: ReferenceChat;
/** SHA-256 of each file `npm run convert -- --dtype q4` writes for the checkpoint. */
let cliDigests: Record<string, string>;
/** The same for `--dtype q8`, but config.json: `--dtype q4,q8`'s (the store holds both precisions, and its config lists both graphs). */
let cliQ8Digests: Record<string, string>;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function digestsOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path).split('\\').join('/')] = sha256(readFileSync(path));
    }
  };
  walk(dir);
  return out;
}

async function addModel(id: string, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByLabel('URL or repository id').fill(id);
  await page.getByLabel('Name (optional)').fill(name);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
}

/** Picks a model in q4 (what this spec compares) on the default device and presses Load. */
async function startLoad(key: string): Promise<void> {
  await page.getByRole('combobox', { name: 'Model' }).selectOption(key);
  await page.getByRole('combobox', { name: 'Precision' }).selectOption('q4');
  await page.getByRole('button', { name: 'Load model' }).click();
}

test.beforeAll(async ({ browser }) => {
  reference = await ReferenceChat.create('tiny-llama', 'q4');
  const cliOutput = (dtype: string) => {
    const out = mkdtempSync(join(tmpdir(), 'hanmadi-cli-'));
    execFileSync('npx', ['tsx', 'tools/convert.ts', '--input', CHECKPOINT, '--output', out, '--dtype', dtype], { cwd: ROOT, stdio: 'ignore' });
    const digests = digestsOf(out);
    rmSync(out, { recursive: true, force: true });
    return digests;
  };
  cliDigests = cliOutput('q4');
  cliQ8Digests = { ...cliOutput('q8'), 'config.json': cliOutput('q4,q8')['config.json'] };

  const mistral = mkdtempSync(join(tmpdir(), 'hanmadi-mistral-'));
  cpSync(CHECKPOINT, mistral, { recursive: true });
  const config = JSON.parse(readFileSync(join(CHECKPOINT, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(mistral, 'config.json'), JSON.stringify({ ...config, model_type: 'mistral', architectures: ['MistralForCausalLM'] }));
  const qwen2 = mkdtempSync(join(tmpdir(), 'hanmadi-qwen2-'));
  cpSync(CHECKPOINT, qwen2, { recursive: true });
  writeFileSync(join(qwen2, 'config.json'), JSON.stringify({ ...config, model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] }));
  hub = await startMockHub({
    repos: {
      [REPO]: { dir: CHECKPOINT },
      [FLIP_REPO]: { dir: CHECKPOINT },
      'gated/tiny-llama': { dir: CHECKPOINT, gated: 'manual' },
      'other/tiny-mistral': { dir: mistral },
      'other/tiny-qwen2': { dir: qwen2 },
    },
    redirectLfs: true,
  });
  context = await browser.newContext();
  await useMockHub(context, hub.url);
  page = await context.newPage();
});

test.afterAll(async () => {
  await context?.close();
  await hub?.close();
});

test('a Hub safetensors repo converts in the browser, resumes after a cut and a reload without refetching finished tensors, stores the CLI bytes and chats like the reference', async () => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await addModel(REPO, 'Hub tiny checkpoint');
  await expect(page.getByRole('dialog')).toBeHidden();
  const option = page.getByRole('combobox', { name: 'Model' }).locator(`option[value="${KEY}"]`);
  await expect(option).toHaveText(/Hub tiny checkpoint — converted in your browser/);
  await page.getByRole('combobox', { name: 'Model' }).selectOption(KEY);
  await expect(page.getByText('this browser converts it on first load')).toBeVisible();

  // Cut the network halfway through the first layer's MLP weight; it stays down.
  const { ranges, order } = await checkpointTensors(CHECKPOINT, 'q4');
  const tensors = order.map((name) => ({ name, ...ranges.get(name)! }));
  const cutIndex = tensors.findIndex((t, i) => i > 0 && t.name.includes('mlp.'));
  const cutTensor = tensors[cutIndex];
  hub.cutFileAt('model.safetensors', cutTensor.begin + Math.floor((cutTensor.end - cutTensor.begin) / 2));
  await startLoad(KEY);
  // The estimate, before the weights arrive: download (not kept) vs stored.
  await expect(page.getByTestId('download-needs')).toContainText(
    /Converting in this browser: downloads \d+\.\d MB of original weights \(not kept\), stores \d+\.\d MB/,
  );
  await expect(page.getByRole('alert')).toContainText('The download was interrupted', { timeout: 120_000 });

  const interrupted = (await storedModel(page, KEY, 'q4'))!;
  expect(interrupted.status).toBe('partial');
  expect(interrupted.revision).toBe(hub.shaOf(REPO));
  expect(interrupted.conversion!.state.done).toBe(cutIndex);
  expect(interrupted.conversion!.state.total).toBe(tensors.length);
  // Only converted output is stored, never the checkpoint's bytes.
  expect(Object.keys(await storedDigests(page, KEY)).every((p) => interrupted.files.includes(p))).toBe(true);

  hub.setNetworkDown(false);
  const mark = hub.log.length;
  await page.reload();
  await openApp(page);
  await startLoad(KEY);
  await expect(page.getByText(/^Loaded: Hub tiny checkpoint \(WASM, q4\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });

  const resumed = hub.log.slice(mark);
  const resumedReads = weightReads(resumed);
  for (const t of tensors.slice(0, cutIndex)) {
    expect(
      resumedReads.filter((r) => r.range!.start < t.end && r.range!.end >= t.begin),
      t.name,
    ).toEqual([]);
  }
  for (const t of tensors.slice(cutIndex)) {
    expect(
      resumedReads.some((r) => r.range!.start < t.end && r.range!.end >= t.begin),
      t.name,
    ).toBe(true);
  }
  expect(resumed.some((r) => r.file === 'tokenizer.json')).toBe(false);

  // The store holds exactly the CLI's q4 output (but its manifest: the store keeps per-file hashes).
  const stored = await storedDigests(page, KEY);
  const { 'hanmadi-manifest.json': _manifest, ...expected } = cliDigests;
  expect(stored).toEqual(expected);
  const model = (await storedModel(page, KEY, 'q4'))!;
  expect([model.status, model.conversion]).toEqual(['complete', undefined]);

  const expectedReply = reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS);
  await replyTo(page, () => send(page, MESSAGE));
  expect(await lastReplyText(page)).toBe(expectedReply.text);
});

test('the same repo in q8, the precision of the CPU path: Load asks first, then the browser stores the CLI q8 bytes and chats like the q8 reference', async () => {
  await openApp(page);
  await sidebar(page).getByRole('button', { name: 'New chat', exact: true }).click();
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await page.getByRole('combobox', { name: 'Model' }).selectOption(KEY);
  await page.getByRole('combobox', { name: 'Precision' }).selectOption('q8');
  await page.getByRole('button', { name: 'Load model' }).click();
  // q4 is stored from the first test: another precision is asked for first.
  const dialog = page.getByRole('dialog', { name: 'This is another download of the model' });
  await expect(dialog).toContainText('Hub tiny checkpoint is stored as q4.');
  // Converted, not downloaded: the original weights again (their size), and what q8 will store.
  await expect(dialog).toContainText(/downloads the original weights again \([\d.]+ [KMGT]?B, not kept\) and converts them, storing [\d.]+ [KMGT]?B beside/);
  await dialog.getByRole('button', { name: 'Download and convert to q8' }).click();
  await expect(page.getByText(/^Loaded: Hub tiny checkpoint \(WASM, q8\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });

  const model = (await storedModel(page, KEY, 'q8'))!;
  expect([model.status, model.conversion]).toEqual(['complete', undefined]);
  const { 'hanmadi-manifest.json': _manifest, ...expected } = cliQ8Digests;
  expect([...model.files].sort()).toEqual(Object.keys(expected).sort());
  const stored = await storedDigests(page, KEY);
  expect(Object.fromEntries(model.files.map((path) => [path, stored[path]]))).toEqual(expected);
  expect(Object.keys(expected)).toContain('onnx/model_quantized.onnx');

  const q8Reference = await ReferenceChat.create('tiny-llama', 'q8');
  const expectedReply = q8Reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS);
  await replyTo(page, () => send(page, MESSAGE));
  expect(await lastReplyText(page)).toBe(expectedReply.text);
});

test('a byte flipped in transit is caught against the LFS sha256 and refetched before the model is marked complete, and it chats like the reference', async () => {
  await openApp(page);
  // A chat of its own: the first test's conversation is still open.
  await sidebar(page).getByRole('button', { name: 'New chat', exact: true }).click();
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await addModel(FLIP_REPO, 'Hub flipped checkpoint');
  await expect(page.getByRole('dialog')).toBeHidden();

  // One byte in the middle of layer 1's MLP weight arrives inverted, once.
  const { ranges } = await checkpointTensors(CHECKPOINT, 'q4');
  const target = ranges.get('model.layers.1.mlp.up_proj.weight')!;
  const flipAt = target.begin + Math.floor((target.end - target.begin) / 2);
  hub.flipByte('model.safetensors', flipAt);
  const mark = hub.log.length;
  await startLoad(FLIP_KEY);
  await expect(page.getByText(/^Loaded: Hub flipped checkpoint \(WASM, q4\)$/)).toBeVisible({ timeout: MODEL_STEP_TIMEOUT });
  expect(hub.flipSent).toBe(true);

  // Caught and refetched: the conversion started over (a second header read) and the flipped byte was read again.
  const requests = hub.log.slice(mark).filter((r) => r.status === 206 && r.file === 'model.safetensors');
  expect(requests.filter((r) => r.range!.start === 0).length).toBe(2);
  expect(requests.filter((r) => r.range!.start <= flipAt && r.range!.end >= flipAt).length).toBe(2);
  // What is stored is the CLI's output, so the flipped byte reached no stored chunk.
  const { 'hanmadi-manifest.json': _manifest, ...expected } = cliDigests;
  expect(await storedDigests(page, FLIP_KEY)).toEqual(expected);
  const model = (await storedModel(page, FLIP_KEY, 'q4'))!;
  expect([model.status, model.conversion]).toEqual(['complete', undefined]);

  const expectedReply = reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS);
  await replyTo(page, () => send(page, MESSAGE));
  expect(await lastReplyText(page)).toBe(expectedReply.text);
});

test('a gated (401), a missing (404) and an unsupported repo get clear, translated messages, from Add model and from Load', async () => {
  await openApp(page);
  await addModel('gated/tiny-llama', 'Gated');
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('alert')).toHaveText(
    'That repository is gated on Hugging Face (its files need a signed-in account that accepted its terms), so this app cannot read it.',
  );
  await page.getByLabel('URL or repository id').fill('nobody/no-such-model');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByRole('alert')).toHaveText('No such model repository on Hugging Face (or it is private).');
  await page.getByLabel('URL or repository id').fill('other/tiny-mistral');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText('its checkpoint cannot be converted in the browser: only Llama-architecture models');
  await expect(dialog.getByRole('alert')).toContainText('Its model_type is “mistral”, not “llama”.');
  // Qwen2, the most asked for: the message names what the Llama graph lacks.
  await page.getByLabel('URL or repository id').fill('other/tiny-qwen2');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText(
    'It is a qwen2 model: its attention adds biases to the q, k and v projections, which the Llama graph does not have.',
  );
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  // The same repos as catalog entries (as if they changed after being listed): Load fails with
  // the translated error and stores nothing. Written straight into IndexedDB, which Dexie's live
  // queries do not see, so the page is reloaded to list them.
  const cases = [
    ['gated/tiny-llama', "This model's Hugging Face repository is gated"],
    ['nobody/no-such-model', "The model's Hugging Face repository (or a file in it) was not found"],
    ['other/tiny-mistral', 'This model cannot be converted in the browser: only Llama-architecture checkpoints'],
    ['other/tiny-qwen2', 'It is a qwen2 model: its attention adds biases to the q, k and v projections'],
  ] as const;
  for (const [repo] of cases) {
    await addUserModelRecord(page, {
      id: `user:${repo}@main`,
      label: repo,
      source: { kind: 'hf-safetensors', repo, revision: 'main' },
      dtypes: { q4f16: null, q4: null },
    });
  }
  await openApp(page);
  for (const [repo, message] of cases) {
    const id = `user:${repo}@main`;
    const mark = hub.log.length;
    await startLoad(id);
    await expect(page.getByRole('alert')).toContainText(message);
    expect(await storedModel(page, id, 'q4')).toBeNull();
    expect(weightReads(hub.log.slice(mark))).toEqual([]);
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
  }
});

test('where the browser reports its real quota, a conversion that does not fit is refused up front, before any weight is fetched', async ({ baseURL }) => {
  // Chromium without its static quota reports the real (here: overridden) quota, as Firefox and Safari do.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_ARGS, '--disable-features=StaticStorageQuota'],
  });
  try {
    const own = await browser.newContext({ baseURL });
    await useMockHub(own, hub.url);
    const saved = page;
    page = await own.newPage();
    try {
      await openApp(page);
      await addModel(REPO, 'Hub tiny checkpoint');
      await expect(page.getByRole('dialog')).toBeHidden();
      const cdp = await own.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: (await storageUsage(page)) + 256 * 1024 });
      const mark = hub.log.length;
      // The picker says it won't fit first (e2e/device-fit.spec.ts) and Load asks; Load anyway meets the store worker's own refusal.
      await page.getByRole('combobox', { name: 'Model' }).selectOption(KEY);
      await page.getByRole('combobox', { name: 'Precision' }).selectOption('q4');
      await expect(page.getByTestId('model-fit')).toHaveAttribute('data-verdict', 'no-fit');
      await page.getByRole('button', { name: 'Load model' }).click();
      await page.getByRole('dialog', { name: "This model won't run on this device" }).getByRole('button', { name: 'Load anyway' }).click();
      const alert = page.getByRole('alert');
      await expect(alert).toContainText('Not enough storage space');
      await expect(alert).toContainText(/\d+\.\d MB must be stored, but only \d+(\.\d)? KB is available/);
      expect(await storedModel(page, KEY, 'q4')).toBeNull();
      expect(weightReads(hub.log.slice(mark))).toEqual([]);
    } finally {
      page = saved;
    }
  } finally {
    await browser.close();
  }
});
