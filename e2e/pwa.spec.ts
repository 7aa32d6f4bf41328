/**
 * The installable, offline app, built with `vite build` and served from a sub-path by a plain
 * static server (no COOP/COEP or CSP headers, like GitHub Pages), in one Chromium profile that
 * also survives a browser restart:
 * manifest and icons → service worker control and cross-origin isolation → a model stored and
 * loaded on WebGPU and on threaded WASM under the CSP, ONNX Runtime from the precache and model
 * files from the network → offline reload: the app boots and the stored model chats → browser
 * restart with the host gone: the same.
 *
 * The model is added with Add model (this site's own models/local/tiny-llama/ folder): user
 * models live in IndexedDB, while the test-model catalog (models/local.json) is served by the
 * server and so is gone offline.
 * Backend: Run on → CPU (WASM, q4), named in each load since this profile remembers the choice;
 * one test also loads on Run on → GPU under the CSP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { lastReplyText, loadModel, replyTo, send, setSampling } from './support/app.ts';
import { buildApp } from './support/build-app.ts';
import { ReferenceChat } from './support/reference.ts';
import { allViolations, emulateCores, foreignRequests, openControlled, openProfile, pngSize, type Recorder } from './support/pwa.ts';
import { startStaticHost, type StaticHost } from './support/static-host.ts';

test.describe.configure({ mode: 'serial' });

const SUB_PATH = '/static/hanmadi/';
const MESSAGE = '비행기에서도 될까요? Offline?';
const NEW_TOKENS = 3;

let host: StaticHost;
let profileDir: string;
let context: BrowserContext;
let page: Page;
let recorder: Recorder;
let reference: ReferenceChat;
let firstLoadIsolated: boolean;

/** The tiny model as the user adds it: by its folder URL on this site. */
const folderUrl = () => `${host.url}models/local/tiny-llama/`;
const modelKey = () => `user:${folderUrl()}`;

/**
 * Loads the stored model on WASM and regenerates the reply to MESSAGE, which must equal the
 * reference's (on as many threads as emulateCores says, called before the page's first load).
 */
async function storedModelChats(target: Page): Promise<void> {
  await loadModel(target, modelKey(), { device: 'wasm', dtype: 'q4' });
  await expect(target.getByText(/^Loaded: .*\(WASM, q4\)$/)).toBeVisible();
  reference.forget();
  const expected = reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS);
  await replyTo(target, () => target.getByRole('article', { name: 'Hanmadi' }).last().getByRole('button', { name: 'Regenerate' }).click());
  expect(await lastReplyText(target)).toBe(expected.text);
}

test.beforeAll(async () => {
  reference = await ReferenceChat.create('tiny-llama', 'q4');
  host = await startStaticHost({ root: buildApp('a'), subPath: SUB_PATH });
  profileDir = mkdtempSync(join(tmpdir(), 'hanmadi-profile-'));
  ({ context, recorder, page } = await openProfile(profileDir));
});

test.afterAll(async () => {
  await context?.close();
  await host?.close();
  rmSync(profileDir, { recursive: true, force: true });
});

test('the first visit installs the service worker: manifest valid and linked, icons resolve, offline ready', async () => {
  await page.goto(`${host.url}?lang=en`);
  await expect(page.getByTestId('offline-ready')).toContainText('ready to work offline');
  firstLoadIsolated = await page.evaluate(() => crossOriginIsolated);
  // A first install takes over the open page at once.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${host.url}sw.js`);

  const cdp = await context.newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  expect(manifest.url).toBe(`${host.url}manifest.webmanifest`);
  expect(manifest.errors).toEqual([]);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  expect(installabilityErrors).toEqual([]);
  const data = JSON.parse(manifest.data ?? '{}') as {
    name: string;
    short_name: string;
    display: string;
    start_url: string;
    scope: string;
    theme_color: string;
    icons: { src: string; sizes: string; purpose: string }[];
    name_localized: Record<string, string>;
  };
  expect(data.name).toContain('한마디');
  expect(data.name).toContain('Hanmadi');
  expect(data.name_localized).toMatchObject({ ko: expect.stringContaining('한마디'), en: expect.stringContaining('Hanmadi') });
  expect(data.display).toBe('standalone');
  expect(data.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  // Relative to the manifest: the sub-path, wherever the app is deployed.
  expect(new URL(data.start_url, manifest.url).href).toBe(host.url);
  expect(new URL(data.scope, manifest.url).href).toBe(host.url);

  const icons = [...data.icons, { src: 'apple-touch-icon-180x180.png', sizes: '180x180', purpose: 'any' }];
  expect(icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual(expect.arrayContaining(['192x192 any', '512x512 any', '512x512 maskable']));
  for (const icon of icons) {
    const response = await page.request.get(new URL(icon.src, manifest.url).href);
    expect(response.status(), icon.src).toBe(200);
    expect(response.headers()['content-type']).toBe('image/png');
    const [width, height] = icon.sizes.split('x').map(Number);
    expect(pngSize(await response.body()), icon.src).toEqual({ width, height });
  }
  const favicon = await page.locator('link[rel="icon"]').evaluate((link: HTMLLinkElement) => link.href);
  expect((await page.request.get(favicon)).headers()['content-type']).toBe('image/svg+xml');
  expect(foreignRequests(recorder.requests, host.origin)).toEqual([]);
});

test('the host sends no isolation headers, yet the page the service worker serves is cross-origin isolated', async () => {
  const direct = await fetch(host.url);
  expect(direct.headers.get('cross-origin-opener-policy')).toBeNull();
  expect(direct.headers.get('cross-origin-embedder-policy')).toBeNull();
  expect(direct.headers.get('content-security-policy')).toBeNull();
  expect(firstLoadIsolated).toBe(false);

  const navigation = await page.reload();
  expect(navigation?.fromServiceWorker()).toBe(true);
  expect(await navigation?.headerValue('cross-origin-embedder-policy')).toBe('require-corp');
  expect(await navigation?.headerValue('content-security-policy')).toContain("frame-ancestors 'none'");
  await expect(page.getByRole('combobox', { name: 'Model' })).toBeEnabled();
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
  expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toContain("script-src 'self' 'wasm-unsafe-eval'");
});

test('Add model says when a host is outside the Content-Security-Policy, without trying it', async () => {
  recorder.requests.length = 0;
  await page.getByRole('button', { name: 'Add model' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a model' });
  await dialog.getByLabel('URL or repository id').fill('https://models.example.com/kanana-onnx/');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog.getByRole('alert')).toContainText("This site's security policy does not allow connecting to that host.");
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  expect(foreignRequests(recorder.requests, host.origin)).toEqual([]);
  expect(await allViolations(recorder)).toEqual([]);
});

test('a model is stored and loads on WebGPU and on WASM under the CSP: no violation, no request leaves the origin, ORT from the precache, model files from the network with Range', async () => {
  recorder.requests.length = 0;
  recorder.responses.length = 0;
  // Thread workers must start under COEP and the CSP too.
  const cores = emulateCores(page, 8);
  try {
    await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
    await page.getByRole('button', { name: 'Add model' }).click();
    await page.getByLabel('URL or repository id').fill(folderUrl());
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(page.getByRole('dialog')).toBeHidden();
    await loadModel(page, modelKey(), { device: 'webgpu' });
    await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();

    // The precision stored on WebGPU (WASM would pick q8), so the offline steps find it stored.
    await loadModel(page, modelKey(), { device: 'wasm', dtype: 'q4' });
    await expect(page.getByText(/^Loaded: .*\(WASM, q4\)$/)).toBeVisible();
    await replyTo(page, () => send(page, MESSAGE));
    // Eight threads (the emulated cores) compute what the reference does: ONNX Runtime splits
    // each matmul's outputs, not the sums behind one output, between threads.
    reference.forget();
    expect(await lastReplyText(page)).toBe(reference.reply([{ role: 'user', content: MESSAGE }], NEW_TOKENS).text);

    // The LLM worker is isolated too (its script came from the service worker with COEP).
    const worker = page.workers().find((w) => w.url().includes('llm.worker'));
    expect(await worker?.evaluate(() => crossOriginIsolated)).toBe(true);
    // ONNX Runtime's thread workers started (one thread per core on WASM: defaultThreads in
    // src/worker/engine.ts), under COEP and the CSP, in a fresh worker after the WebGPU load's.
    expect(cores.threadWorkers.length).toBeGreaterThan(0);
  } finally {
    cores.dispose();
  }

  expect(await allViolations(recorder)).toEqual([]);
  expect(foreignRequests(recorder.requests, host.origin)).toEqual([]);
  const ort = recorder.responses.filter((r) => /\/assets\/ort-wasm[^/]*\.(wasm|mjs)$/.test(r.url()));
  expect(ort.map((r) => r.url().split('.').pop())).toEqual(expect.arrayContaining(['mjs', 'wasm']));
  for (const r of ort) expect(r.fromServiceWorker(), r.url()).toBe(true);
  // The download: straight from the host, in Range requests answered 206 (the service worker
  // does not touch them).
  const modelFiles = recorder.responses.filter((r) => r.url().includes('/models/local/tiny-llama/onnx/'));
  expect(modelFiles.length).toBeGreaterThan(0);
  for (const r of modelFiles) expect(r.fromServiceWorker(), r.url()).toBe(false);
  const ranged = modelFiles.filter((r) => r.request().headers().range);
  expect(ranged.length).toBeGreaterThan(0);
  for (const r of ranged) expect(r.status(), r.url()).toBe(206);

  // Cache Storage holds the precache only: no model file, no catalog of test models.
  const cached = await page.evaluate(async () =>
    (await Promise.all((await caches.keys()).map(async (name) => (await caches.open(name)).keys()))).flat().map((r) => r.url),
  );
  expect(cached.some((url) => url.endsWith('.wasm'))).toBe(true);
  expect(cached.filter((url) => url.includes('/models/'))).toEqual([]);
});

test('offline, a reload boots the app from the service worker, the UI works and the stored model chats; no app request reaches the host', async () => {
  host.hits.length = 0;
  recorder.requests.length = 0;
  const cores = emulateCores(page, 2);
  await context.setOffline(true);
  try {
    await page.reload();
    await expect(page.getByRole('combobox', { name: 'Model' })).toBeEnabled();
    await expect(page.getByRole('combobox', { name: 'Model' }).getByRole('option', { name: /EXAONE/ })).toBeAttached();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.getByRole('combobox', { name: 'Language' }).selectOption('ko');
    await expect(page.getByRole('button', { name: '모델 불러오기' })).toBeVisible();
    await page.getByRole('button', { name: '설정' }).click();
    await expect(page.getByLabel('최대 새 토큰 수')).toBeVisible();
    await page.getByRole('combobox', { name: '언어' }).selectOption('en');
    await storedModelChats(page);
    // Only the browser's own update check of the service worker script may come by: Playwright's
    // offline emulation does not cover it (with the network really off it just fails, and the
    // installed version runs on; the restart test below has no host at all).
    expect(host.hits.filter((hit) => hit !== `GET ${SUB_PATH}sw.js`)).toEqual([]);
    expect(foreignRequests(recorder.requests, host.origin)).toEqual([]);
  } finally {
    cores.dispose();
    await context.setOffline(false);
  }
});

test('after a browser restart with the same profile and the host gone, the app boots from the service worker and the stored model chats', async () => {
  await context.close();
  await host.close();
  ({ context, recorder, page } = await openProfile(profileDir));
  emulateCores(page, 2);
  await context.setOffline(true);

  await openControlled(page, host.url);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Hanmadi');
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => document.documentElement.dataset.build)).toBe('a');
  await storedModelChats(page);
  expect(await allViolations(recorder)).toEqual([]);
  expect(foreignRequests(recorder.requests, host.origin)).toEqual([]);
});
