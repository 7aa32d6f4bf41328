/**
 * Fit before download, in real Chromium: where the browser reports its real quota (Chromium
 * without its static quota, as Firefox and Safari report theirs), a quota set through CDP below a
 * model's download marks the model as won't run here, with the reason, before anything is
 * fetched; Load then asks first, Cancel fetches nothing, and Load anyway goes on to the
 * downloader's own refusal. With room again, the mark goes. A first visit starts on the best
 * model that fits, not on the catalog's first.
 * Backend: no model runs; the fit is judged for the Run on choices each test names.
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, LAUNCH_OPTIONS } from '../playwright.config.ts';
import { formatBytes } from '../src/i18n/format.ts';
import { openApp } from './support/app.ts';
import { storageUsage, storedRows } from './support/store.ts';

const MODEL = 'local:tiny-llama';
const MiB = 1024 * 1024;

/** The tiny model's q4 download, as its catalog entry states it. */
async function q4Bytes(page: Page): Promise<number> {
  const catalog = (await (await page.request.get('models/local.json')).json()) as { models: { id: string; dtypes: Record<string, number> }[] };
  return catalog.models.find((m) => m.id === MODEL)!.dtypes.q4;
}

async function pick(page: Page): Promise<void> {
  await page.getByRole('combobox', { name: 'Model' }).selectOption(MODEL);
  await page.getByRole('combobox', { name: 'Precision' }).selectOption('q4');
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('wasm');
}

test('a model whose download exceeds the storage left is marked as not fitting, and Load asks first', async ({ baseURL }) => {
  const browser = await chromium.launch({ ...LAUNCH_OPTIONS, args: [...CHROMIUM_ARGS, '--disable-features=StaticStorageQuota'] });
  try {
    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();
    // Picking a model reads its config.json (the context-length setting); nothing else may be fetched.
    const modelRequests: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.includes('/models/local/') && !path.endsWith('/config.json')) modelRequests.push(request.url());
    });
    await openApp(page);
    const size = await q4Bytes(page);
    const cdp = await context.newCDPSession(page);
    const origin = new URL(page.url()).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (await storageUsage(page)) + 5 * MiB });
    await pick(page);

    const fit = page.getByTestId('model-fit');
    await expect(fit).toHaveAttribute('data-verdict', 'no-fit');
    await expect(fit).toContainText("Won't run on this device");
    await expect(fit).toContainText(new RegExp(`Its download needs ${formatBytes(size).replace('.', '\\.')}, but only [45]\\.\\d MB of storage is left\\.`));
    await expect(page.getByRole('combobox', { name: 'Model' }).getByRole('option', { selected: true })).toContainText("won't run here");

    await page.getByRole('button', { name: 'Load model' }).click();
    const dialog = page.getByRole('dialog', { name: "This model won't run on this device" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(`Its download needs ${formatBytes(size)}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText('No model loaded')).toBeVisible();
    expect(modelRequests).toEqual([]);
    expect(await storedRows(page, MODEL)).toEqual({ models: 0, files: 0, chunks: 0 });

    // Load anyway: the downloader refuses it on its own, before writing anything.
    await page.getByRole('button', { name: 'Load model' }).click();
    await dialog.getByRole('button', { name: 'Load anyway' }).click();
    await expect(page.getByRole('alert')).toContainText('Not enough storage space');
    expect(await storedRows(page, MODEL)).toEqual({ models: 0, files: 0, chunks: 0 });

    // With room for it, the same model is no longer marked.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (await storageUsage(page)) + 1024 * MiB });
    await page.reload();
    await expect(page.getByRole('combobox', { name: 'Model' })).toBeEnabled();
    await pick(page);
    await expect(fit).not.toHaveAttribute('data-verdict', 'no-fit');
    await expect(fit).not.toContainText('storage');
  } finally {
    await browser.close();
  }
});

test('a first visit starts on the first model that fits, not on the catalog’s first', async ({ page }) => {
  // The catalog is data: listed first, a model whose embedding table (a million tokens × 16384 in
  // q4's 4-bit layout: 7.6 GiB) no GPU can hold in one buffer, nor WebAssembly its 40 GB; then the
  // tiny model. Its config.json says so too: picking a model reads it, and the fit is then judged from it.
  const table = (1_000_000 * 16384) / 2;
  await page.route(/\/models\/local\.json$/, async (route) => {
    const response = await route.fetch();
    const { models } = (await response.json()) as { models: { id: string; label: string; sizing: Record<string, unknown> }[] };
    const tiny = models.find((m) => m.id === MODEL)!;
    const big = {
      ...tiny,
      id: 'local:too-big',
      label: 'Too Big',
      source: { kind: 'url', baseUrl: 'models/local/too-big/' },
      dtypes: { q4: 40e9 },
      sizing: { ...tiny.sizing, vocab: 1_000_000, hidden: 16384 },
    };
    await route.fulfill({ response, json: { models: [big, tiny] } });
  });
  const tinyConfig = (await (await page.request.get('models/local/tiny-llama/config.json')).json()) as object;
  await page.route(/\/models\/local\/too-big\/config\.json$/, (route) => route.fulfill({ json: { ...tinyConfig, vocab_size: 1_000_000, hidden_size: 16384 } }));
  await openApp(page);
  const picker = page.getByRole('combobox', { name: 'Model' });
  await expect(picker).toHaveValue(MODEL);
  await expect(picker.getByRole('option', { name: /^Too Big/ })).toContainText("won't run here");
  await expect(page.getByTestId('model-fit')).not.toHaveAttribute('data-verdict', 'no-fit');

  // On the GPU (Automatic takes the CPU beside SwiftShader), the adapter's buffer limit is what binds.
  await page.getByRole('combobox', { name: 'Run on' }).selectOption('webgpu');
  await picker.selectOption('local:too-big');
  await expect(page.getByTestId('model-fit')).toHaveAttribute('data-verdict', 'no-fit');
  await expect(page.getByTestId('model-fit')).toContainText(`The embedding table would need ${formatBytes(table)}, more than this GPU allows for one buffer`);
});

test('a model added while a first visit is still judging the device stays picked', async ({ page, baseURL }) => {
  // The first visit's pick waits for the device probe, which the engine worker answers: its script
  // is held back until the user has added (and so picked) a model of their own.
  let releaseWorker = () => {};
  const workerHeld = new Promise<void>((resolve) => (releaseWorker = resolve));
  const workerAsked = new Promise<void>(
    (resolve) =>
      void page.route(/\/llm\.worker-[^/]*\.js$/, async (route) => {
        resolve();
        await workerHeld;
        await route.continue();
      }),
  );
  await openApp(page);
  await workerAsked;
  const picker = page.getByRole('combobox', { name: 'Model' });
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByLabel('URL or repository id').fill(new URL('models/local/tiny-llama-ctx64/', baseURL).href);
  await page.getByLabel('Name (optional)').fill('Mine');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('dialog')).toBeHidden();
  const mine = `user:${new URL('models/local/tiny-llama-ctx64/', baseURL).href}`;
  await expect(picker).toHaveValue(mine);

  releaseWorker();
  // Judged now: a verdict arrives, and the pick is still the user's.
  await expect(page.getByTestId('model-fit')).toHaveAttribute('data-verdict', /^(fits|tight|no-fit)$/);
  await expect(picker).toHaveValue(mine);
});
