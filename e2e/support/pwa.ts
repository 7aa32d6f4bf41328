/**
 * Helpers for the PWA tests: a Chromium profile that survives a browser restart, a record of
 * every request the browser makes (pages, the LLM worker, the service worker) and of every
 * Content-Security-Policy violation.
 */
import { chromium, expect, type BrowserContext, type ConsoleMessage, type Page, type Request, type Response, type Worker } from '@playwright/test';
import { LAUNCH_OPTIONS } from '../../playwright.config.ts';

/** The persistent profile `userDataDir` in the e2e browser, recorded from its start, with its first page. */
export async function openProfile(userDataDir: string): Promise<{ context: BrowserContext; recorder: Recorder; page: Page }> {
  const context = await chromium.launchPersistentContext(userDataDir, { ...LAUNCH_OPTIONS, headless: true });
  const recorder = await record(context);
  return { context, recorder, page: context.pages()[0] ?? (await context.newPage()) };
}

export interface Recorder {
  requests: Request[];
  responses: Response[];
  /** CSP violations: `securitypolicyviolation` events in pages, and console reports from pages and workers. */
  violations: string[];
  workers: Worker[];
}

const CSP_CONSOLE = /Content Security Policy|Content-Security-Policy/i;
export const ORT_THREAD_WORKER = /\/ort-wasm[^/]*\.mjs$/;

/** Starts recording on `context`: call before the first navigation. */
async function record(context: BrowserContext): Promise<Recorder> {
  const recorder: Recorder = { requests: [], responses: [], violations: [], workers: [] };
  const onConsole = (where: string) => (message: ConsoleMessage) => {
    if (CSP_CONSOLE.test(message.text())) recorder.violations.push(`${where}: ${message.text()}`);
  };
  const watchPage = (page: Page) => {
    page.on('console', onConsole('page'));
    page.on('worker', (worker) => {
      worker.on('console', onConsole(`worker ${worker.url()}`));
      // ONNX Runtime's thread workers sit in Atomics.wait and never answer an evaluate; a CSP
      // refusal there would fail the model load itself.
      if (ORT_THREAD_WORKER.test(worker.url())) return;
      recorder.workers.push(worker);
      // Playwright does not forward a worker's CSP reports; its own event does. The listener is
      // in place long before a model load reaches ONNX Runtime's imports.
      void worker
        .evaluate(() => {
          const list: string[] = [];
          (self as unknown as { __cspViolations: string[] }).__cspViolations = list;
          self.addEventListener('securitypolicyviolation', (event) => list.push(`${event.effectiveDirective} blocked ${event.blockedURI}`));
        })
        .catch(() => {});
    });
  };
  context.on('request', (request) => recorder.requests.push(request));
  context.on('response', (response) => recorder.responses.push(response));
  context.on('page', watchPage);
  context.pages().forEach(watchPage);
  context.on('serviceworker', (worker) => worker.on('console', onConsole('service worker')));
  await context.exposeBinding('__reportCspViolation', (_source, text: string) => recorder.violations.push(`event: ${text}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __reportCspViolation(text: string): void }).__reportCspViolation;
      report(`${event.effectiveDirective} blocked ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`);
    });
  });
  return recorder;
}

/**
 * Tells the page's LLM worker that the machine has `cores` CPU cores: a WASM load runs one ONNX
 * Runtime thread per core (src/worker/engine.ts defaultThreads), so 8 starts eight thread workers
 * on a 2-core CI machine too. Call before the worker starts (the first model load of a page).
 * Returns the URLs of the thread workers that started.
 */
export function emulateCores(page: Page, cores: number): { threadWorkers: string[]; dispose(): void } {
  const threadWorkers: string[] = [];
  const onWorker = (worker: Worker) => {
    if (worker.url().includes('llm.worker')) {
      void worker.evaluate((n) => Object.defineProperty(Object.getPrototypeOf(navigator), 'hardwareConcurrency', { get: () => n }), cores).catch(() => {});
    }
    if (ORT_THREAD_WORKER.test(worker.url())) threadWorkers.push(worker.url());
  };
  page.on('worker', onWorker);
  return { threadWorkers, dispose: () => page.off('worker', onWorker) };
}

/** Every violation so far, the live workers' own included. */
export async function allViolations(recorder: Recorder): Promise<string[]> {
  const inWorkers = await Promise.all(
    recorder.workers.map((worker) =>
      worker.evaluate(() => (self as unknown as { __cspViolations?: string[] }).__cspViolations ?? []).catch(() => [] as string[]),
    ),
  );
  return [...recorder.violations, ...inWorkers.flat().map((text) => `worker: ${text}`)];
}

/** Opens the app and waits until the service worker controls the page. */
export async function openControlled(page: Page, url: string): Promise<void> {
  await page.goto(`${url}?lang=en`);
  await expect(page.getByRole('combobox', { name: 'Model' })).toBeEnabled();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/** URLs of the requests that went to another origin than `origin` (data: and blob: URLs stay in the browser). */
export function foreignRequests(requests: Request[], origin: string): string[] {
  return requests.map((r) => r.url()).filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin);
}

/** PNG width and height from the IHDR chunk. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
