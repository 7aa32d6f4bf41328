/**
 * Model output is untrusted. Replies holding an XSS corpus (imported as a conversation, the way
 * any text reaches the renderer) must execute nothing: no dialog, no handler, no navigation, no
 * request, no popup. And ordinary Markdown still renders: tables, highlighted code with a copy
 * button, safe links. No model is needed: rendering is the same for stored and streamed text
 * (the WebGPU streaming render is covered in streaming-webgpu.spec.ts).
 * Backend: none (no model is loaded).
 */
import { expect, test, type Page } from '@playwright/test';
import { messages, openApp } from './support/app.ts';
import { importConversations } from './support/conversations.ts';

// No model is loaded here: a stuck step should fail fast, not after the suite's 10 minutes.
test.describe.configure({ mode: 'serial', timeout: 60_000 });

/** Every payload sets window.__xss (or calls alert / navigates) if it ever runs. */
const CORPUS = [
  `<img src=x onerror="window.__xss='img'">`,
  `<script>window.__xss='script'</script>`,
  `<svg onload="window.__xss='svg'"><circle r="10"/></svg>`,
  `<svg><animate onbegin="window.__xss='animate'" attributeName="x" dur="1s"/></svg>`,
  `<iframe src="javascript:parent.__xss='iframe'"></iframe>`,
  `<iframe srcdoc="<script>parent.__xss='srcdoc'</script>"></iframe>`,
  `<a href="javascript:window.__xss='a'">raw link</a>`,
  `[markdown link](javascript:window.__xss='md-link')`,
  `[mixed case](JaVaScRiPt:window.__xss='case')`,
  `[entity](&#106;avascript:window.__xss='entity')`,
  `[spaced]( javascript:window.__xss='spaced')`,
  `<javascript:window.__xss='autolink'>`,
  `[data url](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
  `[vb](vbscript:msgbox(1))`,
  `![pixel](https://evil.example/pixel.png)`,
  `![js image](javascript:window.__xss='image')`,
  `[title](https://ok.example/ "x\\" onmouseover=\\"window.__xss='title'")`,
  `<style>body { display: none }</style>`,
  `<meta http-equiv="refresh" content="0;url=https://evil.example/">`,
  `<link rel="stylesheet" href="https://evil.example/x.css">`,
  `<base href="https://evil.example/">`,
  `<details open ontoggle="window.__xss='details'"><summary>x</summary></details>`,
  `<input autofocus onfocus="window.__xss='focus'">`,
  `<form action="javascript:window.__xss='form'"><button>go</button></form>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="window.__xss='mxss'">`,
  `<noscript><p title="</noscript><img src=x onerror=window.__xss='noscript'>">`,
  `<object data="javascript:window.__xss='object'"></object><embed src="javascript:window.__xss='embed'">`,
  `<div style="background:url(javascript:window.__xss='style')" onclick="window.__xss='click'">styled</div>`,
  '```html\n<img src=x onerror="window.__xss=\'code\'">\n```',
  `**bold <img src=x onerror="window.__xss='inline'"> text** and \`<script>window.__xss='codespan'</script>\``,
];

const MARKDOWN = [
  '## 오늘의 날씨 요약',
  '',
  '| 도시 | 날씨 | 기온 |',
  '| --- | :---: | ---: |',
  '| 서울 | 맑음 | 21°C |',
  '| 부산 | 흐림 | 19°C |',
  '',
  '```python',
  'def greet(name):',
  '    return f"안녕하세요, {name}!"',
  '```',
  '',
  '- 우산은 **필요 없어요**',
  '- See [the forecast](https://weather.example/seoul) and `print()`',
  '',
  '> 인용문입니다',
].join('\n');

const CODE = 'def greet(name):\n    return f"안녕하세요, {name}!"';

let page: Page;
const dialogs: string[] = [];
const navigations: string[] = [];
const requests: string[] = [];
const popups: string[] = [];

test.beforeAll(async ({ browser }) => {
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  context.on('page', (popup) => popups.push(popup.url()));
  await context.route(/evil\.example|ok\.example|weather\.example/, (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  await openApp(page);
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url());
  });
});

test.afterAll(async () => {
  await page.context().close();
});

test('an XSS corpus in replies (and in the user message) executes nothing and stays visible as text', async () => {
  await importConversations(page, [
    {
      title: 'XSS corpus',
      messages: [{ role: 'user', content: CORPUS.join('\n') }, ...CORPUS.map((content) => ({ role: 'assistant' as const, content }))],
    },
  ]);
  // Linear thread: user, then each payload as a reply on top of the previous one.
  await expect(messages(page)).toHaveCount(1 + CORPUS.length);
  const log = page.getByRole('log', { name: 'Conversation' });
  // Raw HTML is shown as the text the model wrote, not interpreted.
  await expect(log.getByRole('article', { name: 'Hanmadi' }).first()).toContainText(`<img src=x onerror="window.__xss='img'">`);
  await expect(log).toContainText('<script>window.__xss=');

  // Poke everything a handler could hang on: hover, focus, animation, toggle.
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('[role="log"] *')) {
      for (const type of ['mouseover', 'mouseenter', 'focus', 'animationstart', 'toggle', 'load', 'error']) el.dispatchEvent(new Event(type));
    }
  });
  for (const link of await log.locator('a').all()) await link.hover();
  // Let anything that was going to run (timers, image loads, refreshes) run.
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 500)));

  expect(await page.evaluate(() => (window as Window & { __xss?: unknown }).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);
  expect(navigations).toEqual([]);
  expect(requests).toEqual([]);
  expect(popups).toEqual([]);
  await expect(page.locator('body')).toBeVisible(); // <style> did not hide the page

  const dom = await log.evaluate((root) => {
    const all = [...root.querySelectorAll('*')];
    return {
      dangerous: all
        .filter((el) =>
          ['SCRIPT', 'IFRAME', 'IMG', 'SVG', 'STYLE', 'META', 'LINK', 'BASE', 'FORM', 'INPUT', 'OBJECT', 'EMBED', 'MATH', 'DETAILS', 'NOSCRIPT'].includes(
            el.tagName.toUpperCase(),
          ),
        )
        .map((el) => el.tagName),
      handlers: all.flatMap((el) =>
        [...el.attributes].filter((a) => /^on/i.test(a.name) || a.name === 'style' || a.name === 'srcdoc').map((a) => `${el.tagName}[${a.name}]`),
      ),
      hrefs: [...root.querySelectorAll('a[href]')].map((a) => ({ href: a.getAttribute('href'), target: a.getAttribute('target'), rel: a.getAttribute('rel') })),
    };
  });
  expect(dom.dangerous).toEqual([]);
  expect(dom.handlers).toEqual([]);
  // The only links left are http(s); the images became links that were never fetched.
  expect(dom.hrefs.length).toBeGreaterThan(0);
  for (const link of dom.hrefs) {
    expect(link.href).toMatch(/^https?:\/\//);
    expect(link.target).toBe('_blank');
    expect(link.rel).toBe('noopener noreferrer');
  }
  expect(dom.hrefs.map((l) => l.href)).toContain('https://evil.example/pixel.png');
});

test('Markdown renders tables, highlighted code with a working copy button, lists, quotes and safe links', async () => {
  await importConversations(page, [
    {
      title: 'Markdown',
      messages: [
        { role: 'user', content: '날씨 표로 보여줘' },
        { role: 'assistant', content: MARKDOWN },
      ],
    },
  ]);
  const reply = page.getByRole('article', { name: 'Hanmadi' }).last();
  await expect(reply.getByRole('heading', { name: '오늘의 날씨 요약' })).toBeVisible();

  const table = reply.getByRole('table');
  await expect(table.getByRole('columnheader')).toHaveText(['도시', '날씨', '기온']);
  await expect(table.getByRole('row')).toHaveCount(3);
  await expect(table.getByRole('row').nth(1).getByRole('cell')).toHaveText(['서울', '맑음', '21°C']);

  const code = reply.locator('.code-block');
  await expect(code.locator('.code-lang')).toHaveText('python');
  await expect(code.locator('pre code .hljs-keyword').first()).toHaveText('def');
  await expect(code.locator('pre code .hljs-string')).toContainText('안녕하세요');
  await code.getByRole('button', { name: 'Copy code' }).click();
  await expect(code.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(CODE);

  await expect(reply.getByRole('listitem')).toHaveCount(2);
  await expect(reply.locator('li strong')).toHaveText('필요 없어요');
  await expect(reply.locator('li code')).toHaveText('print()');
  await expect(reply.locator('blockquote')).toHaveText('인용문입니다');
  const link = reply.getByRole('link', { name: 'the forecast' });
  await expect(link).toHaveAttribute('href', 'https://weather.example/seoul');
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(link).toHaveAttribute('rel', 'noopener noreferrer');

  // The message's own Copy button gives the Markdown source, not the rendering. (Scoped to the
  // message's actions: the code block's button may still say "Copied" on a slow machine.)
  const actions = reply.locator('.message-actions');
  await actions.getByRole('button', { name: 'Copy', exact: true }).click();
  await expect(actions.getByRole('button', { name: 'Copied', exact: true })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(MARKDOWN);
});
