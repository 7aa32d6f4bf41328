/**
 * Conversation and message persistence (the data layer shared by the chat and the sidebar).
 * The visible conversation is the path from the active leaf up to the root of the message tree.
 */
import { db, ROOT, type ConversationRecord, type MessageRecord } from './app-db.ts';

export function newId(): string {
  return crypto.randomUUID();
}

export async function createConversation(init: Partial<Pick<ConversationRecord, 'systemPrompt' | 'sampling' | 'title'>> = {}): Promise<ConversationRecord> {
  const now = Date.now();
  const conversation: ConversationRecord = {
    id: newId(),
    title: init.title ?? '',
    createdAt: now,
    updatedAt: now,
    activeLeafId: ROOT,
    systemPrompt: init.systemPrompt ?? '',
    sampling: init.sampling ?? {},
  };
  await db.conversations.add(conversation);
  return conversation;
}

export async function messagesOf(conversationId: string): Promise<MessageRecord[]> {
  return db.messages.where('conversationId').equals(conversationId).toArray();
}

/** The visible thread: root → leaf. */
export function pathTo(messages: readonly MessageRecord[], leafId: string): MessageRecord[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const path: MessageRecord[] = [];
  for (let m = byId.get(leafId); m; m = m.parentId === ROOT ? undefined : byId.get(m.parentId)) path.unshift(m);
  return path;
}

/** Versions of a message: its siblings (same parent) in creation order, itself included. */
export function siblingsOf(messages: readonly MessageRecord[], message: MessageRecord): MessageRecord[] {
  return messages.filter((m) => m.parentId === message.parentId).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/** The newest leaf below `messageId` (following the newest child at each step). */
export function newestLeafBelow(messages: readonly MessageRecord[], messageId: string): string {
  let current = messageId;
  for (;;) {
    const children = messages.filter((m) => m.parentId === current);
    if (children.length === 0) return current;
    current = children.reduce((a, b) => (b.createdAt > a.createdAt || (b.createdAt === a.createdAt && b.id > a.id) ? b : a)).id;
  }
}

export async function addMessage(message: Omit<MessageRecord, 'id' | 'createdAt'> & Partial<Pick<MessageRecord, 'id' | 'createdAt'>>): Promise<MessageRecord> {
  const record: MessageRecord = { id: newId(), createdAt: Date.now(), ...message };
  await db.transaction('rw', db.messages, db.conversations, async () => {
    await db.messages.add(record);
    await db.conversations.update(record.conversationId, { activeLeafId: record.id, updatedAt: record.createdAt });
  });
  return record;
}

export async function updateMessage(id: string, changes: Partial<Omit<MessageRecord, 'id' | 'conversationId'>>): Promise<void> {
  await db.messages.update(id, changes);
}

export async function updateConversation(id: string, changes: Partial<Omit<ConversationRecord, 'id'>>): Promise<void> {
  await db.conversations.update(id, changes);
}

/**
 * A reply that was streaming when the page died stays as it was saved, marked interrupted, so the
 * user can continue or regenerate it. Called once at start-up.
 */
export async function markInterruptedReplies(): Promise<number> {
  return db.messages.filter((m) => m.status === 'streaming').modify({ status: 'interrupted' });
}

/** The conversation to reopen: the most recently active one. */
export async function lastConversation(): Promise<ConversationRecord | undefined> {
  return db.conversations.orderBy('updatedAt').last();
}

export async function deleteConversation(id: string): Promise<void> {
  await db.transaction('rw', db.messages, db.conversations, async () => {
    await db.messages.where('conversationId').equals(id).delete();
    await db.conversations.delete(id);
  });
}
