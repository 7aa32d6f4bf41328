/** Helpers for the conversation sidebar, export files and imports in e2e tests. */
import { readFile } from 'node:fs/promises';
import { expect, type Download, type FileChooser, type Page } from '@playwright/test';

export function sidebar(page: Page) {
  return page.getByRole('navigation', { name: 'Conversations' });
}

/** The conversation rows (not search results), newest activity first. */
export function conversationRows(page: Page) {
  return sidebar(page).getByRole('list', { name: 'Conversation list' }).getByRole('listitem');
}

export function conversationRow(page: Page, title: string | RegExp) {
  return conversationRows(page).filter({ has: page.getByRole('button', { name: title }).first() });
}

/** Opens a row's ⋯ menu and clicks one of its actions. */
export async function conversationAction(page: Page, title: string, action: string): Promise<void> {
  await sidebar(page)
    .getByRole('button', { name: `Actions for “${title}”` })
    .click();
  await sidebar(page)
    .getByRole('group', { name: `Actions for “${title}”` })
    .getByRole('button', { name: action, exact: true })
    .click();
}

export interface TestMessage {
  role: 'user' | 'assistant';
  content: string;
  status?: 'complete' | 'stopped' | 'interrupted' | 'error' | 'streaming';
}

export interface TestConversation {
  title: string;
  messages: TestMessage[];
  updatedAt?: number;
  systemPrompt?: string;
  sampling?: Record<string, number>;
}

let serial = 0;

/** A valid export file (format version 1) holding linear conversations. */
export function exportFile(conversations: TestConversation[]): Record<string, unknown> {
  return {
    format: 'hanmadi-conversations',
    version: 1,
    exportedAt: new Date().toISOString(),
    conversations: conversations.map((c) => {
      const base = c.updatedAt ?? Date.now();
      const ids = c.messages.map(() => `test-message-${++serial}`);
      return {
        id: `test-conversation-${++serial}`,
        title: c.title,
        createdAt: base - 60_000,
        updatedAt: base,
        activeLeafId: ids[ids.length - 1] ?? '',
        systemPrompt: c.systemPrompt ?? '',
        sampling: c.sampling ?? {},
        messages: c.messages.map((m, i) => ({
          id: ids[i],
          parentId: i === 0 ? '' : ids[i - 1],
          role: m.role,
          content: m.content,
          createdAt: base - 60_000 + i * 1000,
          status: m.status ?? 'complete',
        })),
      };
    }),
  };
}

/** Opens the sidebar if it is closed (on narrow screens it starts closed). */
export async function showSidebar(page: Page): Promise<void> {
  const toggle = page.getByRole('button', { name: 'Conversations' });
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await expect(sidebar(page)).toBeVisible();
}

/** Imports a file through the sidebar's Import button and the browser's file chooser. */
export async function importFile(page: Page, contents: string | Buffer, name = 'conversations.json'): Promise<void> {
  await chooseImport(page, { name, mimeType: 'application/json', buffer: typeof contents === 'string' ? Buffer.from(contents) : contents });
}

/** Imports a file from disk: large files go to the browser by path, not through the page as a buffer. */
export async function importFileFromDisk(page: Page, path: string): Promise<void> {
  await chooseImport(page, path);
}

async function chooseImport(page: Page, file: Parameters<FileChooser['setFiles']>[0]): Promise<void> {
  await showSidebar(page);
  const chooser = page.waitForEvent('filechooser');
  await sidebar(page).getByRole('button', { name: 'Import…' }).click();
  await (await chooser).setFiles(file);
}

/**
 * Imports conversations and opens the last one given from its sidebar row (an import leaves the
 * conversation that was open before open; on a narrow screen opening one closes the drawer).
 */
export async function importConversations(page: Page, conversations: TestConversation[]): Promise<void> {
  await importFile(page, JSON.stringify(exportFile(conversations)));
  await expect(sidebar(page).getByTestId('transfer-notice')).toContainText(`Imported conversations: ${conversations.length}.`);
  await sidebar(page).getByTestId('transfer-notice').getByRole('button', { name: 'Dismiss' }).click();
  const { title } = conversations[conversations.length - 1];
  await conversationRow(page, title).getByRole('button', { name: title }).first().click();
  await expect(page.locator('#chat-title')).toHaveText(title);
}

/** Clicks something that downloads a file and returns the file's name and text. */
export async function downloadText(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const download: Promise<Download> = page.waitForEvent('download');
  await click();
  const file = await download;
  const path = await file.path();
  return { name: file.suggestedFilename(), text: await readFile(path, 'utf8') };
}
