/**
 * Conversation actions: open, new, rename, delete with undo, export and import. Which
 * conversation is open lives in the store (`activeConversationId`); its id is also remembered in
 * localStorage so a reload reopens it (a pointer, not data: the conversation itself is in
 * IndexedDB).
 */
import { useAppStore } from '../../state/store.ts';
import { db, ROOT } from '../../db/app-db.ts';
import {
  conversationsWithMessages,
  createConversation,
  deleteConversation,
  emptyConversation,
  lastConversation,
  messagesOf,
  newestLeafBelow,
  pathTo,
  restoreConversation,
  updateConversation,
} from '../../db/conversations.ts';
import { buildExport, checkImportSize, type ImportProblem } from '../../db/export-format.ts';
import { hasPendingImports } from '../../db/conversation-import.ts';
import { conversationImportClient } from '../../worker/conversation-import-client.ts';
import type { ConversationImportProgress, ImportOutcome } from '../../worker/protocol.ts';
import { conversationsToMarkdown, conversationToMarkdown, fileStem, type MarkdownExportLabels } from './markdown-export.ts';
import { NARROW_QUERY } from '../../state/conversations-slice.ts';

const ACTIVE_KEY = 'hanmadi.activeConversation';

function storage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

const isNarrow = () => typeof matchMedia === 'function' && matchMedia(NARROW_QUERY).matches;

function setActive(id: string): void {
  useAppStore.setState({ activeConversationId: id, lastStats: null, chatError: null });
  storage()?.setItem(ACTIVE_KEY, id);
}

let opening: Promise<void> | null = null;

/** At start-up: the conversation open last time, else the most recently active, else a new one. */
export function openLastConversation(): Promise<void> {
  opening ??= (async () => {
    const remembered = storage()?.getItem(ACTIVE_KEY);
    const conversation = (remembered && (await db.conversations.get(remembered))) || (await lastConversation()) || (await createConversation());
    setActive(conversation.id);
  })();
  return opening;
}

/**
 * Opens a conversation. With `messageId` (a search hit) the thread shown is the one holding that
 * message, even when it is an earlier version, and the chat scrolls to it.
 */
export async function openConversation(id: string, messageId?: string): Promise<void> {
  if (messageId) {
    const [conversation, messages] = await Promise.all([db.conversations.get(id), messagesOf(id)]);
    if (conversation && !pathTo(messages, conversation.activeLeafId).some((m) => m.id === messageId)) {
      await updateConversation(id, { activeLeafId: newestLeafBelow(messages, messageId) });
    }
  }
  setActive(id);
  useAppStore.setState({ focusMessageId: messageId ?? null });
  if (isNarrow()) useAppStore.setState({ sidebarOpen: false });
}

/**
 * A new conversation with the settings of the open one (system prompt, sampling), so a chosen
 * style carries over. An untouched conversation is reused rather than piling up empty ones.
 */
export async function newConversation(): Promise<void> {
  const currentId = useAppStore.getState().activeConversationId;
  const current = currentId ? await db.conversations.get(currentId) : undefined;
  const settings = current ? { systemPrompt: current.systemPrompt, sampling: current.sampling } : {};
  const empty = current?.activeLeafId === ROOT ? current : await emptyConversation();
  let id: string;
  if (empty) {
    await updateConversation(empty.id, { ...settings, updatedAt: Date.now() });
    id = empty.id;
  } else {
    id = (await createConversation(settings)).id;
  }
  setActive(id);
  if (isNarrow()) useAppStore.setState({ sidebarOpen: false });
}

export async function renameConversation(id: string, title: string): Promise<void> {
  const trimmed = title.replace(/\s+/gu, ' ').trim();
  if (trimmed) await updateConversation(id, { title: trimmed });
}

/** Deletes at once; the deleted conversation stays in memory until the Undo toast goes away. */
export async function deleteWithUndo(id: string): Promise<void> {
  if (useAppStore.getState().generation?.conversationId === id) return; // a reply is being written into it
  const snapshot = await deleteConversation(id);
  if (!snapshot) return;
  useAppStore.setState({ deleted: snapshot });
  if (useAppStore.getState().activeConversationId === id) {
    const next = await lastConversation();
    if (next) setActive(next.id);
    else setActive((await createConversation({ systemPrompt: snapshot.conversation.systemPrompt, sampling: snapshot.conversation.sampling })).id);
  }
}

export async function undoDelete(): Promise<void> {
  const snapshot = useAppStore.getState().deleted;
  if (!snapshot) return;
  useAppStore.setState({ deleted: null });
  await restoreConversation(snapshot);
  setActive(snapshot.conversation.id);
}

export function dismissUndo(): void {
  useAppStore.setState({ deleted: null });
}

export function setSidebarOpen(open: boolean): void {
  useAppStore.setState({ sidebarOpen: open });
}

export function dismissTransferNotice(): void {
  useAppStore.setState({ transferNotice: null });
}

// ---- export / import ----

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own reference by now; free ours on the next turn.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

const today = () => new Date().toISOString().slice(0, 10);

export type ExportFormat = 'json' | 'markdown';

/** One conversation (`id`) or all of them, as JSON (re-importable) or Markdown (for reading). */
export async function exportConversations(id: string | 'all', format: ExportFormat, labels: MarkdownExportLabels): Promise<void> {
  const items = await conversationsWithMessages(id === 'all' ? undefined : [id]);
  if (items.length === 0) return;
  const stem = id === 'all' ? 'hanmadi-conversations' : `hanmadi-${fileStem(items[0].conversation.title, 'conversation')}`;
  if (format === 'json') {
    download(`${stem}-${today()}.json`, 'application/json', `${JSON.stringify(buildExport(items), null, 2)}\n`);
  } else {
    const text = id === 'all' ? conversationsToMarkdown(items, labels) : conversationToMarkdown(items[0], labels);
    download(`${stem}-${today()}.md`, 'text/markdown', text);
  }
}

/**
 * Imports an export file in the import worker (read, checked completely, then written in batches
 * with new ids: all of it or, cancelled or failed, nothing), with progress and Cancel. The
 * conversation open before stays open: the imported ones join the list.
 */
export async function importFile(file: File): Promise<void> {
  if (useAppStore.getState().transferNotice?.kind === 'importing') return;
  const report = (problem: ImportProblem) => useAppStore.setState({ transferNotice: { kind: 'import-error', problem } });
  const tooLarge = checkImportSize(file.size);
  if (tooLarge) return report(tooLarge);
  const id = crypto.randomUUID();
  const show = (progress: ConversationImportProgress) => {
    const notice = useAppStore.getState().transferNotice;
    // Only this import's own notice moves on.
    if (notice?.kind === 'importing' && notice.id === id) useAppStore.setState({ transferNotice: { kind: 'importing', id, progress } });
  };
  useAppStore.setState({ transferNotice: { kind: 'importing', id, progress: { phase: 'reading', writtenMessages: 0, totalMessages: 0 } } });
  let outcome: ImportOutcome;
  try {
    outcome = await conversationImportClient().importConversations(file, id, show);
  } catch (error) {
    return report({ code: 'write-failed', detail: String(error) });
  }
  if (outcome.outcome === 'refused') return report(outcome.problem);
  useAppStore.setState({ transferNotice: outcome.outcome === 'cancelled' ? { kind: 'import-cancelled' } : { kind: 'imported', count: outcome.conversations } });
}

/** Cancels the import under way; what it wrote so far is deleted. */
export async function cancelImport(): Promise<void> {
  const notice = useAppStore.getState().transferNotice;
  if (notice?.kind === 'importing') await conversationImportClient().cancel(notice.id);
}

/** Deletes what an import left behind when its tab went away mid-write (started only when there is such a thing). */
export async function sweepAbandonedImports(): Promise<void> {
  if (await hasPendingImports().catch(() => false))
    await conversationImportClient()
      .sweepAbandoned()
      .catch(() => undefined);
}
