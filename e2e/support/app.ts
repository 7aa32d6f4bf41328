/** Page helpers for driving the real app in e2e tests (accessible names, as a user would). */
import { expect, type Page } from '@playwright/test';

/** How long one model step may take (a load, or the first tokens of a reply): SwiftShader is slow, and CI boxes vary. */
export const MODEL_STEP_TIMEOUT = 300_000;

export async function openApp(page: Page, query = 'lang=en'): Promise<void> {
  await page.goto(`./?${query}`);
  await expect(page.getByRole('combobox', { name: 'Model' })).toBeEnabled();
}

export async function loadModel(page: Page, modelId: string, options: { dtype?: string; device?: 'webgpu' | 'wasm' } = {}): Promise<void> {
  await page.getByRole('combobox', { name: 'Model' }).selectOption(modelId);
  if (options.dtype) await page.getByRole('combobox', { name: 'Precision' }).selectOption(options.dtype);
  // No device: the default, Automatic, which runs on WebAssembly beside a software adapter
  // (SwiftShader here), far faster than WebGPU on it. Tests about the GPU choose 'webgpu'.
  if (options.device) await page.getByRole('combobox', { name: 'Run on' }).selectOption(options.device);
  await pressLoad(page);
  await loadEnded(page);
}

interface LoadWatch {
  /** The model status showed something other than "Loaded: …" since the click (the load began). */
  left: boolean;
}
declare global {
  interface Window {
    __hanmadiLoadWatch?: LoadWatch;
  }
}

/**
 * Presses Load model, watching the model status from before the click. A model loaded earlier
 * keeps showing "Loaded: …" until the click's first asynchronous steps clear it, so only a
 * "Loaded" that follows another status belongs to this load (see loadEnded).
 */
export async function pressLoad(page: Page): Promise<void> {
  await page.evaluate(() => {
    const status = document.querySelector('.model-status');
    if (!status) throw new Error('No model status on the page.');
    const isLoaded = () => status.textContent?.startsWith('Loaded: ') ?? false;
    const watch: LoadWatch = { left: !isLoaded() };
    window.__hanmadiLoadWatch = watch;
    new MutationObserver((_, observer) => {
      if (isLoaded()) return;
      watch.left = true;
      observer.disconnect();
    }).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Load model' }).click();
}

/** Waits for the load pressLoad started to end with a status matching `loadedText`. */
export async function loadEnded(page: Page, loadedText: RegExp = /^Loaded: /, timeout = MODEL_STEP_TIMEOUT): Promise<void> {
  await expect.poll(() => page.evaluate(() => window.__hanmadiLoadWatch?.left ?? false), { timeout, message: 'the load began' }).toBe(true);
  await expect(page.getByText(loadedText)).toBeVisible({ timeout });
}

/** Conversation settings: greedy decoding and a short reply keep SwiftShader runs quick. */
export async function setSampling(page: Page, values: { temperature?: number; maxNewTokens?: number; systemPrompt?: string }): Promise<void> {
  const toggle = page.getByRole('button', { name: 'Settings' });
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  if (values.systemPrompt !== undefined) await page.getByLabel('System prompt').fill(values.systemPrompt);
  if (values.temperature !== undefined) await page.getByLabel('Temperature').fill(String(values.temperature));
  if (values.maxNewTokens !== undefined) await page.getByLabel('Max new tokens').fill(String(values.maxNewTokens));
  await toggle.click();
}

export function messages(page: Page) {
  return page.getByRole('log', { name: 'Conversation' }).getByRole('article');
}

/** Waits until no reply is streaming (the Send button is back). */
export async function waitForReply(page: Page, timeout = MODEL_STEP_TIMEOUT): Promise<void> {
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout });
}

/**
 * Runs `trigger` (anything that starts a reply) and waits until that reply has finished: the
 * stats line's figures are replaced when a reply ends, so this cannot mistake the previous
 * reply's stats for the new one's, however the reply starts.
 */
export async function replyTo(page: Page, trigger: () => Promise<void>, timeout = MODEL_STEP_TIMEOUT): Promise<void> {
  const stats = page.getByTestId('stats');
  const before = await stats.getAttribute('data-ttft-ms');
  await trigger();
  await expect.poll(() => stats.getAttribute('data-ttft-ms'), { timeout }).not.toBe(before);
  await waitForReply(page);
}

/** Types a message and presses Enter (use replyTo to wait for the reply). */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  await expect(box).toHaveValue('');
}

/**
 * The last reply's text exactly as the model wrote it. Replies are shown as rendered Markdown
 * (which drops leading spaces, markup characters and line breaks), so this reads what the
 * message's Copy button puts on the clipboard: the raw text.
 */
export async function lastReplyText(page: Page): Promise<string> {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const reply = page.getByRole('article', { name: 'Hanmadi' }).last();
  await reply.getByRole('button', { name: 'Copy', exact: true }).click();
  await expect(reply.getByRole('button', { name: 'Copied', exact: true })).toBeVisible();
  return page.evaluate(() => navigator.clipboard.readText());
}

export interface ShownStats {
  prefill: number;
  reused: number;
  decode: number;
  ttftMs: number;
}

export async function lastStats(page: Page): Promise<ShownStats> {
  const stats = page.getByTestId('stats');
  await expect(stats).toHaveAttribute('data-prefill-tokens', /\d+/);
  const read = async (name: string) => Number(await stats.getAttribute(name));
  return {
    prefill: await read('data-prefill-tokens'),
    reused: await read('data-reused-tokens'),
    decode: await read('data-decode-tokens'),
    ttftMs: await read('data-ttft-ms'),
  };
}

/**
 * Presses Stop once the reply streaming on `on` has a few tokens, waits until it has stopped, and
 * returns the token count on screen when the click landed (read in the page as it is dispatched).
 */
export async function stopMidReply(on: Page): Promise<number> {
  await expect(on.getByTestId('stats')).toHaveText(/Generating… ([2-9]|\d\d+) tokens/, { timeout: MODEL_STEP_TIMEOUT });
  await on.evaluate(() => {
    const w = window as unknown as { __shownAtClick?: number };
    const shown = () => Number(/(\d+) tokens/.exec(document.querySelector('[data-testid="stats"]')?.textContent ?? '')?.[1]);
    document.addEventListener('click', () => (w.__shownAtClick = shown()), { capture: true, once: true });
  });
  await on.getByRole('button', { name: 'Stop' }).click();
  const shownAtClick = await on.evaluate(() => (window as unknown as { __shownAtClick?: number }).__shownAtClick ?? NaN);
  await waitForReply(on);
  await expect(on.getByRole('article', { name: 'Hanmadi' }).last().getByText('Stopped')).toBeVisible();
  return shownAtClick;
}
