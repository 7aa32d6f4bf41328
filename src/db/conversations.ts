/**
 * Conversation and message persistence (the data layer shared by the chat and the sidebar).
 * The visible conversation is the path from the active leaf up to the root of the message tree.
 */
import { db, ROOT, type ConversationRecord, type MessageRecord } from './app-db.ts';
import type { ConversationWithMessages } from './export-format.ts';

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

/** The conversation to reopen: the most recently active one. */
export async function lastConversation(): Promise<ConversationRecord | undefined> {
  return db.conversations.orderBy('updatedAt').last();
}

/** Conversations by last activity, newest first. */
export async function listConversations(): Promise<ConversationRecord[]> {
  return db.conversations.orderBy('updatedAt').reverse().toArray();
}

/** An untouched conversation (no messages yet), if one exists. */
export async function emptyConversation(): Promise<ConversationRecord | undefined> {
  return db.conversations.filter((c) => c.activeLeafId === ROOT).first();
}

/**
 * Deletes a conversation and its messages, returning what was deleted so that Undo can put it
 * back exactly (same ids) with restoreConversation.
 */
export async function deleteConversation(id: string): Promise<ConversationWithMessages | null> {
  return db.transaction('rw', db.messages, db.conversations, async () => {
    const conversation = await db.conversations.get(id);
    if (!conversation) return null;
    const messages = await db.messages.where('conversationId').equals(id).toArray();
    await db.messages.where('conversationId').equals(id).delete();
    await db.conversations.delete(id);
    return { conversation, messages };
  });
}

export async function restoreConversation(snapshot: ConversationWithMessages): Promise<void> {
  await db.transaction('rw', db.messages, db.conversations, async () => {
    await db.conversations.put(snapshot.conversation);
    await db.messages.bulkPut(snapshot.messages);
  });
}

/** Conversations with all their messages, for export; all of them when `ids` is absent. */
export async function conversationsWithMessages(ids?: readonly string[]): Promise<ConversationWithMessages[]> {
  const conversations = ids ? (await db.conversations.bulkGet([...ids])).filter((c) => c !== undefined) : await listConversations();
  return Promise.all(conversations.map(async (conversation) => ({ conversation, messages: await messagesOf(conversation.id) })));
}
