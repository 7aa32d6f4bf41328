/**
 * Documents in the chat, end to end in Chromium (the tiny model with a 64-token native window,
 * on WebAssembly in q8: fast, and its greedy replies are checked against the reference computing
 * as q8 does). Korean meeting notes (.txt) are dropped on the composer: at the 64-token window the
 * message cannot fit, and the composer names the length that holds it with its KV memory; taking
 * that offer reloads the model with YaRN and the reply equals the reference on the same prompt
 * (the documents as named blocks before the question: src/model/attachments.ts). A Korean PDF,
 * drawn in the test with pdf-lib in an embedded Noto Sans CJK KR subset, is attached with Attach
 * file and read by pdf.js in its worker, from this site only; its reply equals the reference on
 * the text that was drawn, so the extraction is exact. Korean notes saved in EUC-KR (Attach file) and
 * a .md dropped on the box go in one message: chips with name, size and tokens, the reference's
 * reply, the same again on Regenerate, both kept by an edit's new version and after a reload, and
 * the next turn (no file) runs on the KV cache the documents' turn left. Exported as JSON, deleted and imported
 * again, the conversation has its document back, and search finds a word that only the PDF holds.
 * A document no offered length can hold is refused with the length it needs; a Korean PDF whose
 * font is not embedded (UniKS-UCS2-H) is read through the CMaps the app serves from its own origin.
 * Backend: the default, Automatic (WASM beside SwiftShader here, q8).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { formatBytes } from '../src/i18n/format.ts';
import type { HfLlamaConfig } from '../src/model/config.ts';
import { patchConfigForContext } from '../src/model/yarn.ts';
import { lastReplyText, lastStats, loadModel, messages, openApp, replyTo, send, setSampling } from './support/app.ts';
import { conversationAction, downloadText, importFile, showSidebar, sidebar } from './support/conversations.ts';
import { eucKr, koreanPdf, koreanPdfWithPredefinedCMap } from './support/documents.ts';
import { ReferenceChat, type ChatTurn } from './support/reference.ts';

test.describe.configure({ mode: 'serial' });

const MODEL = 'tiny-llama-ctx64';
const NATIVE = 64;
const NEW_TOKENS = 4;

const MINUTES_NAME = '회의록.txt';
const MINUTES =
  '회의록\n일시: 3월 5일 오후 2시\n참석: 김민수, 이지은, 박서준\n안건: 신제품 출시 일정과 예산\n결정: 출시는 6월 둘째 주로 하고, 홍보 예산은 삼백만 원으로 정한다.';
const MINUTES_QUESTION = '출시는 언제예요?';
const minutes = { name: MINUTES_NAME, text: MINUTES };

const LEASE_NAME = '임대차계약서.pdf';
const LEASE_LINES = ['임대차 계약서', '제1조 (목적) 이 계약은 서울시 마포구 아파트의 임대 조건을 정한다.', '제2조 (보증금) 보증금은 오백만 원으로 한다.'];
const LEASE_QUESTION = '보증금은 얼마예요?';
/** In the PDF only (not in the question or the reply's prompt otherwise): what search must find. */
const LEASE_ONLY_WORD = '마포구';

const config = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'models', MODEL, 'config.json'), 'utf8')) as HfLlamaConfig;
/** K and V × layers × KV heads × head_dim × 4 bytes (q8 graphs keep a float32 cache). */
const kvPerToken = 2 * config.num_hidden_layers * config.num_key_value_heads! * config.head_dim! * 4;

let page: Page;
let native: ReferenceChat;
let leasePdf: Buffer;
/** Console messages about the Content-Security-Policy: pdf.js must need no exception to it. */
const policyViolations: string[] = [];

const box = () => page.getByRole('textbox', { name: 'Message' });
const composerChip = (name: string) => page.locator('form.composer').getByRole('listitem', { name });

type Document = { name: string; text: string };

/** Prompt tokens of one user turn with the generation prompt, by the model's own tokenizer and template. */
function turnTokens(reference: ReferenceChat, content: string, attachments: Document[] = []): number {
  return reference.promptIds([{ role: 'user', content, attachments }]).ids.length;
}

/** What the chip should say: a turn with only the document, less an empty turn. */
function documentTokens(reference: ReferenceChat, document: Document): number {
  return turnTokens(reference, '', [document]) - turnTokens(reference, '');
}

test.beforeAll(async ({ browser }) => {
  native = await ReferenceChat.create(MODEL, 'q8');
  leasePdf = await koreanPdf(LEASE_LINES);
  page = await browser.newPage();
  page.on('console', (message) => {
    if (/Content.Security.Policy|Refused to/i.test(message.text())) policyViolations.push(message.text());
  });
});

test.afterAll(async () => {
  await page.close();
});

test('a document too long for the window: the composer names the length that holds it, and the reply at that length equals the reference', async () => {
  await openApp(page);
  await setSampling(page, { temperature: 0, maxNewTokens: NEW_TOKENS });
  await loadModel(page, `local:${MODEL}`);
  await expect(page.getByTestId('context-info')).toHaveText(`Context: ${NATIVE} tokens`);

  // A file dropped beside the composer is not opened by the browser in place of the app (nor attached).
  const missedDropKept = await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['x'], 'missed.txt', { type: 'text/plain' }));
    return !document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  expect(missedDropKept).toBe(true);

  // Dropped on the message box, as a file from the desktop would be.
  const dataTransfer = await page.evaluateHandle(
    ({ name, text }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], name, { type: 'text/plain' }));
      return transfer;
    },
    { name: MINUTES_NAME, text: MINUTES },
  );
  await box().dispatchEvent('drop', { dataTransfer });
  const chip = composerChip(MINUTES_NAME);
  await expect(chip).toBeVisible();
  await expect(page.getByRole('listitem', { name: 'missed.txt' })).toHaveCount(0);
  await expect(chip).toContainText(formatBytes(Buffer.byteLength(MINUTES)));
  await expect(chip.getByTestId('attachment-meta')).toHaveAttribute('data-tokens', String(documentTokens(native, minutes)));

  await box().fill(MINUTES_QUESTION);
  // The prompt plus the reply's room: the least window, then the shortest offered length holding it.
  const promptTokens = turnTokens(native, MINUTES_QUESTION, [minutes]);
  const needed = promptTokens + NEW_TOKENS;
  expect(needed).toBeGreaterThan(NATIVE);
  const fits = [64, 128, 256].find((tokens) => tokens >= needed)!;
  const offer = page.getByTestId('context-offer');
  await expect(offer).toHaveAttribute('data-needed', String(needed));
  await expect(offer).toContainText(`It needs a context of ${needed} tokens.`);
  await expect(offer).toContainText(`A context length of ${fits} tokens holds it (KV cache ${formatBytes(fits * kvPerToken)}).`);
  await expect(page.getByTestId('context-budget')).toHaveText(/^Too long: this message takes \d+ tokens; at most \d+ fit in the 64-token context\.$/);

  // Sending is refused, and nothing is lost: the question and its document stay in the composer.
  await box().press('Enter');
  await expect(page.getByRole('alert').filter({ hasText: 'This message is too long for the 64-token context' })).toBeVisible();
  await expect(box()).toHaveValue(MINUTES_QUESTION);
  await expect(chip).toBeVisible();
  await expect(messages(page)).toHaveCount(0);

  await offer.getByRole('button', { name: `Reload with ${fits} tokens` }).click();
  await expect(page.getByTestId('context-info')).toHaveText(`Context: ${fits} tokens (YaRN ×${fits / NATIVE} over the native ${NATIVE})`, { timeout: 300_000 });
  await expect(page.getByRole('combobox', { name: 'Context length' })).toHaveValue(String(fits));
  await expect(page.getByTestId('context-budget')).toHaveText(`Context: ${promptTokens} / ${fits} tokens`);
  await expect(offer).toHaveCount(0);

  const patched = await ReferenceChat.create(MODEL, 'q8', (c) => patchConfigForContext(c, fits));
  const history: ChatTurn[] = [{ role: 'user', content: MINUTES_QUESTION, attachments: [minutes] }];
  const expected = patched.reply(history, NEW_TOKENS);
  await replyTo(page, () => box().press('Enter'));
  expect(await lastReplyText(page)).toBe(expected.text);
  const stats = await lastStats(page);
  expect(stats.prefill + stats.reused).toBe(expected.promptTokens);

  // The sent message shows its document as a chip and the question as written; the composer is empty.
  const sent = page.getByRole('article', { name: 'You' }).last();
  await expect(sent.getByRole('listitem', { name: MINUTES_NAME })).toBeVisible();
  await expect(sent.getByTestId('message-text')).toHaveText(MINUTES_QUESTION);
  await expect(box()).toHaveValue('');
  await expect(composerChip(MINUTES_NAME)).toHaveCount(0);
});

test('a Korean PDF attached with Attach file is read by pdf.js exactly, and the reply equals the reference', async () => {
  const window = Number(await page.getByRole('combobox', { name: 'Context length' }).inputValue());
  const patched = await ReferenceChat.create(MODEL, 'q8', (c) => patchConfigForContext(c, window));
  await sidebar(page).getByRole('button', { name: 'New chat' }).click();

  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach file' }).click();
  await (await chooser).setFiles({ name: LEASE_NAME, mimeType: 'application/pdf', buffer: leasePdf });
  const text = LEASE_LINES.join('\n');
  const chip = composerChip(LEASE_NAME);
  await expect(chip.getByTestId('attachment-meta')).toHaveAttribute('data-tokens', String(documentTokens(patched, { name: LEASE_NAME, text })));
  await expect(chip).toContainText(formatBytes(leasePdf.length));
  // pdf.js and everything it fetched came from this site.
  const origin = new URL(page.url()).origin;
  expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:'))).toEqual([]);
  expect(policyViolations).toEqual([]);

  await box().fill(LEASE_QUESTION);
  // The text that was drawn into the PDF: pdf.js must give back exactly this.
  const expected = patched.reply([{ role: 'user', content: LEASE_QUESTION, attachments: [{ name: LEASE_NAME, text }] }], NEW_TOKENS);
  await replyTo(page, () => box().press('Enter'));
  expect(await lastReplyText(page)).toBe(expected.text);
  const stats = await lastStats(page);
  expect(stats.prefill + stats.reused).toBe(expected.promptTokens);
  await expect(page.getByRole('article', { name: 'You' }).last().getByRole('listitem', { name: LEASE_NAME })).toContainText(formatBytes(leasePdf.length));
});

test('Korean notes in EUC-KR with Attach file and a .md dropped on the box: chips, the reference reply, kept by regenerate, edit and a reload; the next turn reuses the cache', async () => {
  const window = Number(await page.getByRole('combobox', { name: 'Context length' }).inputValue());
  const patched = await ReferenceChat.create(MODEL, 'q8', (c) => patchConfigForContext(c, window));
  await sidebar(page).getByRole('button', { name: 'New chat' }).click();

  // Saved by older Korean software: EUC-KR bytes, read back as the Hangul they encode.
  const notes = { name: '예산 메모.txt', text: '예산 회의\n홍보 예산은 삼백만 원이다.' };
  const notesBytes = eucKr(notes.text);
  expect(notesBytes.length).toBeLessThan(Buffer.byteLength(notes.text)); // two bytes a syllable, not UTF-8's three
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach file' }).click();
  await (await chooser).setFiles({ name: notes.name, mimeType: 'text/plain', buffer: notesBytes });

  const todo = { name: '할 일.md', text: '# 할 일\n- 홍보 계획 쓰기' };
  const dataTransfer = await page.evaluateHandle(({ name, text }) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, { type: 'text/markdown' }));
    return transfer;
  }, todo);
  await box().dispatchEvent('drop', { dataTransfer });

  const chips = [
    { doc: notes, bytes: notesBytes.length },
    { doc: todo, bytes: Buffer.byteLength(todo.text) },
  ];
  for (const { doc, bytes } of chips) {
    const chip = composerChip(doc.name);
    await expect(chip).toContainText(doc.name);
    await expect(chip).toContainText(formatBytes(bytes));
    await expect(chip.getByTestId('attachment-meta')).toHaveAttribute('data-tokens', String(documentTokens(patched, doc)));
  }

  const question = '홍보 예산은 얼마예요?';
  await box().fill(question);
  const expected = patched.reply([{ role: 'user', content: question, attachments: [notes, todo] }], NEW_TOKENS);
  await replyTo(page, () => box().press('Enter'));
  expect(await lastReplyText(page)).toBe(expected.text);

  // Regenerate sends the same documents again: the same greedy reply.
  await replyTo(page, () => page.getByRole('article', { name: 'Hanmadi' }).last().getByRole('button', { name: 'Regenerate' }).click());
  expect(await lastReplyText(page)).toBe(expected.text);

  // Editing the question makes a new version that keeps both documents.
  const edited = '할 일은 뭐예요?';
  await page.getByRole('article', { name: 'You' }).getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('textbox', { name: 'Edit message' }).fill(edited);
  await replyTo(page, () => page.getByRole('button', { name: 'Save and send' }).click());
  const history: ChatTurn[] = [{ role: 'user', content: edited, attachments: [notes, todo] }];
  const editedReply = patched.replyOnCache(history, NEW_TOKENS);
  expect(await lastReplyText(page)).toBe(editedReply.text);
  await expect(page.getByRole('article', { name: 'You' }).getByRole('group', { name: 'Versions' })).toContainText('2/2');

  // A next turn without a file runs on the cache the documents' turn left: only its new tokens.
  history.push({ role: 'assistant', content: editedReply.text }, { role: 'user', content: '고마워요.' });
  const next = patched.replyOnCache(history, NEW_TOKENS);
  expect(next.reused).toBeGreaterThan(editedReply.promptTokens);
  await replyTo(page, () => send(page, '고마워요.'));
  expect(await lastReplyText(page)).toBe(next.text);
  const stats = await lastStats(page);
  expect({ reused: stats.reused, prefill: stats.prefill }).toEqual({ reused: next.reused, prefill: next.promptTokens - next.reused });

  // Stored with their message: after a reload the conversation reopens with both documents on it.
  await page.reload();
  const user = page.getByRole('article', { name: 'You' }).first();
  await expect(user.getByTestId('message-text')).toHaveText(edited);
  for (const { doc, bytes } of chips) await expect(user.getByRole('listitem', { name: doc.name })).toContainText(formatBytes(bytes));
  await loadModel(page, `local:${MODEL}`);
});

test('after JSON export, delete and import, the document is back and search finds a word only it holds', async () => {
  await showSidebar(page);
  const title = LEASE_QUESTION;
  const exported = await downloadText(page, () => conversationAction(page, title, 'Export as JSON'));
  const file = JSON.parse(exported.text);
  expect(file.version).toBe(2);
  expect(file.conversations[0].messages[0].attachments).toEqual([
    expect.objectContaining({ name: LEASE_NAME, kind: 'pdf', size: leasePdf.length, text: LEASE_LINES.join('\n') }),
  ]);

  await conversationAction(page, title, 'Delete');
  const search = sidebar(page).getByRole('searchbox', { name: 'Search conversations' });
  const results = sidebar(page).getByRole('list', { name: 'Search results' });
  await search.fill(LEASE_ONLY_WORD);
  await expect(sidebar(page).getByRole('status').filter({ hasText: 'No conversation matches.' })).toBeVisible();

  await importFile(page, exported.text, exported.name);
  await expect(sidebar(page).getByTestId('transfer-notice')).toContainText('Imported conversations: 1.');
  await expect(results.getByRole('listitem')).toHaveCount(1);
  await expect(results.getByRole('listitem')).toContainText(`In ${LEASE_NAME}: `);
  await expect(results.locator('mark')).toHaveText(LEASE_ONLY_WORD);
  await results.getByRole('button').first().click();
  const user = page.getByRole('article', { name: 'You' });
  await expect(user.getByRole('listitem', { name: LEASE_NAME })).toBeVisible();
  await expect(user.getByTestId('message-text')).toHaveText(LEASE_QUESTION);
});

test('a document longer than any length this model can run is refused clearly, and removing it makes the draft fit again', async () => {
  const longest = 256; // native 64 × 4.4 = 281: the offered lengths are 64, 128 and 256
  const report = {
    name: '보고서.md',
    text: Array.from({ length: 12 }, (_, i) => `${i + 1}. 서울 마포구 아파트 임대 조건과 보증금, 관리비를 정리한다.`).join('\n'),
  };
  await sidebar(page).getByRole('button', { name: 'New chat' }).click();
  await box().fill('요약해 주세요.');
  await expect(page.getByTestId('context-budget')).toHaveText(/^Context: \d+ \/ \d+ tokens$/);
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach file' }).click();
  await (await chooser).setFiles({ name: report.name, mimeType: 'text/markdown', buffer: Buffer.from(report.text) });
  await expect(composerChip(report.name)).toBeVisible();

  const needed = turnTokens(native, '요약해 주세요.', [report]) + NEW_TOKENS;
  expect(needed).toBeGreaterThan(longest);
  const offer = page.getByTestId('context-offer');
  await expect(offer).toHaveText(
    `It needs ${needed.toLocaleString('en')} tokens of context, more than any length this model can run here (at most ${longest}). Remove a document or shorten the message.`,
  );
  await expect(offer.getByRole('button')).toHaveCount(0);

  await composerChip(report.name)
    .getByRole('button', { name: `Remove ${report.name}` })
    .click();
  await expect(composerChip(report.name)).toHaveCount(0);
  await expect(offer).toHaveCount(0);
  await expect(page.getByTestId('context-budget')).toHaveText(/^Context: \d+ \/ \d+ tokens$/);
});

test('a Korean PDF whose font is not embedded is read through the CMaps the app serves itself', async () => {
  const notice = { name: '공지.pdf', lines: ['공지사항', '회의는 목요일 오후 세 시에 열립니다.'] };
  const cmapRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/pdfjs/cmaps/')) cmapRequests.push(new URL(request.url()).pathname);
  });
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach file' }).click();
  await (await chooser).setFiles({ name: notice.name, mimeType: 'application/pdf', buffer: koreanPdfWithPredefinedCMap(notice.lines) });
  // Without the CMaps pdf.js finds no text at all (and the file would be refused as text-less).
  const tokens = documentTokens(native, { name: notice.name, text: notice.lines.join('\n') });
  await expect(composerChip(notice.name).getByTestId('attachment-meta')).toHaveAttribute('data-tokens', String(tokens));
  expect(cmapRequests.map((path) => path.split('/').pop())).toEqual(expect.arrayContaining(['UniKS-UCS2-H.bcmap', 'Adobe-Korea1-UCS2.bcmap']));
  expect(policyViolations).toEqual([]);
});
