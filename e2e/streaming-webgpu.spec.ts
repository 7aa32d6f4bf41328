/**
 * The streaming reply on WebGPU (SwiftShader), where it matters most that nothing is lost:
 * the renderer process is crashed (CDP Page.crash) while a reply streams; the reopened app shows
 * the partial reply saved so far, marked interrupted, and Continue and Regenerate both produce
 * the reference model's greedy tokens. Then a reply streaming into an open code block renders as
 * Markdown token by token without touching the blocks before it.
 * Backend: Run on → GPU (WebGPU on SwiftShader here, q4).
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { lastReplyText, loadModel, MODEL_STEP_TIMEOUT, openApp, send, setSampling } from './support/app.ts';
import { importConversations } from './support/conversations.ts';
import { ReferenceChat } from './support/reference.ts';

test.describe.configure({ mode: 'serial' });

const MESSAGE = '오늘 서울 날씨 어때요? Tell me about the weather.';
const LONG = 40;

let context: BrowserContext;
let page: Page;
let reference: ReferenceChat;

const lastReply = () => page.getByRole('article', { name: 'Hanmadi' }).last();

test.beforeAll(async ({ browser }) => {
  reference = await ReferenceChat.create('tiny-llama', 'q4');
  context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
});

test.afterAll(async () => {
  await context.close();
});

test('a tab that dies mid-reply reopens with the partial reply, marked interrupted; Continue and Regenerate work', async () => {
  page = await context.newPage();
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: LONG });
  await loadModel(page, 'local:tiny-llama', { device: 'webgpu' });
  await expect(page.getByText(/^Loaded: .*\(WebGPU, q4\)$/)).toBeVisible();
  const full = reference.reply([{ role: 'user', content: MESSAGE }], LONG);

  await send(page, MESSAGE);
  // The reply may open with tokens that show nothing (blank lines): wait for visible text, then
  // for one more token, so the throttled save (at most a token behind the screen) holds some.
  await expect(lastReply().getByTestId('message-text')).toHaveText(/\S/, { timeout: MODEL_STEP_TIMEOUT });
  const generated = async () => Number((await page.getByTestId('stats').textContent())?.match(/Generating… (\d+) tokens/)?.[1] ?? 0);
  const shown = await generated();
  expect(shown).toBeGreaterThan(0);
  await expect.poll(generated, { timeout: MODEL_STEP_TIMEOUT }).toBeGreaterThan(shown);
  const crashed = page.waitForEvent('crash');
  const cdp = await context.newCDPSession(page);
  void cdp.send('Page.crash').catch(() => {}); // never answers: the renderer is gone
  await crashed;

  page = await context.newPage();
  await openApp(page);
  await expect(lastReply()).toHaveAttribute('data-status', 'interrupted');
  await expect(lastReply().getByText('Interrupted')).toBeVisible();
  const partial = await lastReplyText(page);
  // What was saved is a real start of the reply the model was writing (saves are throttled, so
  // it may trail the screen by a token, never more than the reply had).
  expect(partial.trim().length).toBeGreaterThan(0);
  expect(full.text.startsWith(partial)).toBe(true);
  expect(partial.length).toBeLessThan(full.text.length);

  await loadModel(page, 'local:tiny-llama', { device: 'webgpu' });
  await setSampling(page, { maxNewTokens: 2 });
  const continued = reference.continueReply(
    [
      { role: 'user', content: MESSAGE },
      { role: 'assistant', content: partial },
    ],
    2,
  );
  await lastReply().getByRole('button', { name: 'Continue' }).click();
  await expect(lastReply()).toHaveAttribute('data-status', 'complete', { timeout: MODEL_STEP_TIMEOUT });
  await expect(lastReply().getByText('Interrupted')).toHaveCount(0);
  expect(await lastReplyText(page)).toBe(partial.trim() + continued.text);

  reference.forget();
  const regenerated = reference.reply([{ role: 'user', content: MESSAGE }], 2);
  // A double click starts one reply, not two (the steps before the reply streams are awaited).
  await lastReply().getByRole('button', { name: 'Regenerate' }).dblclick();
  await expect(lastReply().getByRole('group', { name: 'Versions' })).toContainText('2/2');
  await expect(lastReply()).toHaveAttribute('data-status', 'complete', { timeout: MODEL_STEP_TIMEOUT });
  expect(await lastReplyText(page)).toBe(regenerated.text);
  // The continued reply is still there as version 1.
  await lastReply().getByRole('button', { name: 'Previous version' }).click();
  await expect(lastReply().getByRole('group', { name: 'Versions' })).toContainText('1/2');
  expect(await lastReplyText(page)).toBe(partial.trim() + continued.text);
});

test('a reply streaming into a code block renders as Markdown token by token; earlier blocks are never re-rendered', async () => {
  const code = 'def greet(name):\n    return';
  const prefix = `Here is **the function** you asked for:\n\n\`\`\`python\n${code}`;
  await importConversations(page, [
    {
      title: 'Streaming code',
      sampling: { temperature: 0, maxNewTokens: 3 },
      messages: [
        { role: 'user', content: 'Write a Python greeting function.' },
        { role: 'assistant', content: prefix, status: 'interrupted' },
      ],
    },
  ]);
  const reply = lastReply();
  await expect(reply.locator('.code-block pre code .hljs-keyword').first()).toHaveText('def');

  // Watch the rendered reply: the paragraph before the code must stay the same DOM node with
  // the same content; record the code block's text at every change.
  await reply.locator('.markdown').evaluate((markdown) => {
    const first = markdown.children[0];
    const w = window as unknown as { __render: { first: Element; html: string; codes: string[]; firstTouched: boolean } };
    w.__render = { first, html: first.innerHTML, codes: [], firstTouched: false };
    new MutationObserver((records) => {
      for (const r of records) if (first === r.target || first.contains(r.target)) w.__render.firstTouched = true;
      w.__render.codes.push(markdown.querySelector('pre code')?.textContent ?? '');
    }).observe(markdown, { childList: true, subtree: true, characterData: true, attributes: true });
  });

  const continued = reference.continueReply(
    [
      { role: 'user', content: 'Write a Python greeting function.' },
      { role: 'assistant', content: prefix },
    ],
    3,
  );
  await reply.getByRole('button', { name: 'Continue' }).click();
  await expect(reply).toHaveAttribute('data-status', 'complete', { timeout: MODEL_STEP_TIMEOUT });
  expect(await lastReplyText(page)).toBe(prefix + continued.text);

  const render = await page.evaluate(() => {
    const r = (window as unknown as { __render: { first: Element; html: string; codes: string[]; firstTouched: boolean } }).__render;
    return { connected: r.first.isConnected, same: r.first.innerHTML === r.html, touched: r.firstTouched, codes: r.codes };
  });
  expect(render).toMatchObject({ connected: true, same: true, touched: false });
  const finalCode = (await reply.locator('pre code').textContent()) ?? '';
  expect(finalCode.startsWith(code)).toBe(true);
  expect(finalCode.length).toBeGreaterThan(code.length);
  // It grew while streaming (more than one rendering), and every state on screen was a start of the final code.
  const distinct = [...new Set(render.codes.filter(Boolean))];
  expect(distinct.length).toBeGreaterThan(1);
  for (const text of distinct) expect(finalCode.startsWith(text.replace(/\n$/, ''))).toBe(true);
});
