/**
 * Chat actions: send, stop, edit, regenerate, continue. The reply streams into the store (per
 * token) and into IndexedDB (throttled), so a killed tab leaves the partial reply behind, marked
 * interrupted at the next start. KV reuse is the engine's business: it compares token prefixes, so
 * any edit, regeneration or conversation switch resets the cache on its own.
 */
import { useAppStore } from '../../state/store.ts';
import { db, ROOT, type MessageRecord } from '../../db/app-db.ts';
import { addMessage, createConversation, messagesOf, newId, pathTo, updateConversation, updateMessage } from '../../db/conversations.ts';
import { claimReplyWriter, listenForReplyStops, sweepInterruptedReplies, type ReplyWriter } from '../../db/reply-locks.ts';
import { engineClient, EngineRequestError } from '../../worker/engine-client.ts';
import type { ChatMessage } from '../../worker/protocol.ts';
import type { Budget } from '../../state/chat-slice.ts';
import type { ErrorValue } from '../../lib/errors.ts';
import { requestPersistence } from '../../db/storage-manager.ts';
import { clampSampling, samplingFromGenerationConfig } from '../../model/sampling-defaults.ts';
import { userContentWithAttachments, type Attachment } from '../../model/attachments.ts';
import { windowForMessage } from '../../model/context-budget.ts';
import { recountAttachments } from './attachment-actions.ts';

/** How often the streaming reply is written to IndexedDB. */
export const SAVE_INTERVAL_MS = 400;

/**
 * Marks replies that were streaming when their tab died (closed, crashed) as interrupted; replies
 * another open tab is still writing are left alone, and marked if that tab goes away mid-reply.
 */
export async function markInterrupted(): Promise<void> {
  await sweepInterruptedReplies();
}

async function activeConversationId(): Promise<string> {
  const id = useAppStore.getState().activeConversationId;
  if (id && (await db.conversations.get(id))) return id;
  const conversation = await createConversation();
  useAppStore.setState({ activeConversationId: conversation.id });
  return conversation.id;
}

/** The chat messages the model sees for a thread ending at `leafId`. */
async function promptMessages(conversationId: string, leafId: string): Promise<ChatMessage[]> {
  const conversation = await db.conversations.get(conversationId);
  const thread = pathTo(await messagesOf(conversationId), leafId);
  const messages: ChatMessage[] = [];
  if (conversation?.systemPrompt.trim()) messages.push({ role: 'system', content: conversation.systemPrompt });
  // A failed reply with nothing in it is not part of what the model said.
  for (const m of thread)
    if (m.content || m.role === 'user') messages.push({ role: m.role, content: userContentWithAttachments(m.content, m.attachments), id: m.id });
  return messages;
}

async function samplingFor(conversationId: string | null) {
  const loaded = useAppStore.getState().loaded;
  const conversation = conversationId ? await db.conversations.get(conversationId) : undefined;
  return clampSampling({ ...samplingFromGenerationConfig(loaded?.generationConfig ?? {}), ...conversation?.sampling });
}

/**
 * What sending `draft` with its attachments to the open conversation would take of the window (the
 * engine plans it as a reply would), and when the message cannot fit even alone, the window it needs.
 */
async function countWithDraft(conversationId: string | null, draft: string, attachments: readonly Attachment[]): Promise<Budget> {
  const conversation = conversationId ? await db.conversations.get(conversationId) : undefined;
  const history = conversation ? await promptMessages(conversation.id, conversation.activeLeafId) : [];
  // The draft has no id yet: a stand-in that no stored message has.
  const messages: ChatMessage[] = [...history, { role: 'user', content: userContentWithAttachments(draft, attachments), id: 'draft' }];
  const { maxNewTokens } = await samplingFor(conversation?.id ?? null);
  const count = await engineClient().countContext(messages, maxNewTokens);
  const neededWindow = !count.fits && count.code === 'message-too-long' ? windowForMessage({ ...count, maxNewTokens }) : undefined;
  return { conversationId, count, ...(neededWindow !== undefined ? { neededWindow } : {}) };
}

let budgetRequest = 0;

/**
 * Recounts the composer's context budget (debounced by the composer): the open conversation and
 * the draft with the real tokenizer and chat template in the worker. Skipped while a reply streams
 * (the worker is busy and the conversation is about to change).
 */
export async function refreshBudget(draft: string, attachments: readonly Attachment[] = []): Promise<void> {
  const state = useAppStore.getState();
  if (!state.loaded || state.generation || state.deviceLost) return;
  const request = ++budgetRequest;
  const conversationId = state.activeConversationId;
  try {
    const budget = await countWithDraft(conversationId, draft.trim(), attachments);
    if (request === budgetRequest) useAppStore.setState({ budget });
  } catch {
    if (request === budgetRequest) useAppStore.setState({ budget: null });
  }
}

function toErrorValue(error: unknown): ErrorValue {
  return error instanceof EngineRequestError ? error.value : { code: 'generation-failed', detail: String(error) };
}

/**
 * True from the moment a reply is claimed until its generation is in the store: the steps
 * between are awaited (IndexedDB), and two quick clicks must never start two replies.
 */
let replyStarting = false;

function claimReply(): boolean {
  const state = useAppStore.getState();
  if (!state.loaded || state.generation || replyStarting) return false;
  replyStarting = true;
  return true;
}

/** This tab's claim on one reply: the id it will have and the cross-tab writer lock. */
interface ReplyClaim {
  replyId: string;
  writer: ReplyWriter;
}

/** Claims the writing of a reply across tabs; null (and the error shown) when another tab writes one in this conversation. */
async function claimWriter(conversationId: string, replyId: string): Promise<ReplyClaim | null> {
  const writer = await claimReplyWriter(conversationId, replyId).catch(() => null);
  if (!writer) useAppStore.setState({ chatError: { code: 'reply-in-other-tab' } });
  return writer && { replyId, writer };
}

/** Stores the reply being written and starts generating it; null when no model is loaded any more. */
async function startReply(conversationId: string, parentId: string, replyId: string, continueMessage?: MessageRecord) {
  const sampling = await samplingFor(conversationId);
  const loaded = useAppStore.getState().loaded;
  if (!loaded) return null;
  const messages = await promptMessages(conversationId, continueMessage ? continueMessage.id : parentId);
  let reply: MessageRecord;
  let prefix = '';
  if (continueMessage) {
    // Continue: the partial reply is the open final turn the model writes on from (the chat
    // template trims message content, so the kept prefix is trimmed too).
    prefix = continueMessage.content.trim();
    reply = continueMessage;
    await updateMessage(reply.id, { content: prefix, status: 'streaming', error: undefined });
  } else {
    reply = await addMessage({ id: replyId, conversationId, parentId, role: 'assistant', content: '', status: 'streaming', modelId: loaded.modelId });
  }

  let lastSave = 0;
  const client = engineClient();
  const { id, result } = client.generate(
    messages,
    sampling,
    (delta, generatedTokens) => {
      const generation = useAppStore.getState().generation;
      if (!generation || generation.requestId !== id) return;
      const text = generation.text + delta;
      useAppStore.setState({ generation: { ...generation, text, generatedTokens } });
      const now = performance.now();
      if (now - lastSave >= SAVE_INTERVAL_MS) {
        lastSave = now;
        // A refused progress save is not fatal: the text is on screen and the final save says whether it was kept.
        updateMessage(reply.id, { content: text }).catch(() => undefined);
      }
    },
    { continueFinal: Boolean(continueMessage) },
  );
  useAppStore.setState({ generation: { requestId: id, conversationId, messageId: reply.id, text: prefix, generatedTokens: 0 }, chatError: null });
  return { reply, prefix, result };
}

/**
 * Streams a reply to the thread ending at `parentId` (a user message, or a reply being
 * continued). `claim`: the caller already holds the claims (claimReply, then claimWriter).
 */
async function generateReply(conversationId: string, parentId: string, continueMessage?: MessageRecord, claim?: ReplyClaim): Promise<void> {
  if (!claim) {
    if (!claimReply()) return;
    const claimed = await claimWriter(conversationId, continueMessage?.id ?? newId());
    if (!claimed) {
      replyStarting = false;
      return;
    }
    claim = claimed;
  }
  try {
    await writeReply(conversationId, parentId, claim.replyId, continueMessage);
  } finally {
    claim.writer.release();
  }
}

async function writeReply(conversationId: string, parentId: string, replyId: string, continueMessage?: MessageRecord): Promise<void> {
  let started;
  try {
    started = await startReply(conversationId, parentId, replyId, continueMessage);
  } catch (error) {
    useAppStore.setState({ chatError: { code: 'reply-not-started', detail: String(error) } });
    return;
  } finally {
    replyStarting = false;
  }
  if (!started) return;
  const { reply, prefix, result } = started;
  let final: { content: string; changes: Partial<MessageRecord> };
  try {
    const done = await result;
    const { window, promptTokens, droppedMessageIds, droppedTurns } = done.context;
    final = {
      content: prefix + done.text,
      changes: {
        status: done.finishReason === 'stop' ? 'stopped' : 'complete',
        stats: done.stats,
        context: { window, promptTokens, droppedMessageIds, droppedTurns },
      },
    };
    useAppStore.setState({ lastStats: done.stats });
  } catch (error) {
    const value = toErrorValue(error);
    // A lost GPU leaves an intact partial reply that can be continued after a reload.
    final = {
      content: useAppStore.getState().generation?.text ?? prefix,
      changes: { status: value.code === 'device-lost' ? 'interrupted' : 'error', error: value },
    };
    useAppStore.setState({ chatError: value });
  }
  try {
    await updateMessage(reply.id, { content: final.content, ...final.changes });
  } catch (error) {
    // Storage refused the reply (full, or gone): it stays on screen, marked unsaved, and the app is usable at once.
    const unsavedReplies = { ...useAppStore.getState().unsavedReplies, [reply.id]: final.content };
    useAppStore.setState({ unsavedReplies, chatError: { code: 'reply-not-saved', detail: String(error) } });
  } finally {
    // The conversation's activity time is not worth an error; the generation state is cleared whatever happens.
    await updateConversation(conversationId, { updatedAt: Date.now() }).catch(() => undefined);
    useAppStore.setState({ generation: null });
  }
}

let persistenceAsked = false;

/**
 * Conversations are worth keeping too: the browser is asked for persistent storage (so it does not
 * evict them under pressure) once per page, when a message is first saved, not only after a model is stored.
 */
async function askForPersistence(): Promise<void> {
  if (persistenceAsked) return;
  persistenceAsked = true;
  await requestPersistence();
}

/** A conversation's first title: the start of its first message (or its first document's name), on one line. */
function titleFrom(content: string): string {
  const line = content.replace(/\s+/gu, ' ').trim();
  const chars = Array.from(line); // never cut a surrogate pair
  return chars.length > 60 ? `${chars.slice(0, 59).join('')}…` : line;
}

/**
 * Sends a message and starts the reply; resolves true once the message is in the conversation
 * (the reply goes on streaming), false when nothing was sent. A message that cannot fit the
 * context window even alone is refused before anything is stored, with a translated error, so
 * the composer keeps it.
 */
export async function sendMessage(text: string, attachments: readonly Attachment[] = []): Promise<boolean> {
  const content = text.trim();
  const state = useAppStore.getState();
  if ((!content && attachments.length === 0) || !state.loaded || state.generation) return false;
  // Without a count (the worker failed to answer) the engine still checks when it generates.
  const budget = await countWithDraft(state.activeConversationId, content, attachments).catch(() => null);
  if (budget && !budget.count.fits) {
    const { count } = budget;
    const params: Record<string, number> =
      count.code === 'message-too-long'
        ? { tokens: count.neededTokens, fit: count.availableTokens, window: count.window }
        : { tokens: count.neededTokens, window: count.window };
    useAppStore.setState({ chatError: { code: count.code, params }, budget });
    return false;
  }
  // Claimed before the message is stored, so no other reply can start in between and leave it unanswered.
  if (!claimReply()) return false;
  let conversationId: string;
  let user: MessageRecord;
  let claim: ReplyClaim | null = null;
  try {
    conversationId = await activeConversationId();
    // Another tab writing a reply here: nothing is stored and the composer keeps the text.
    claim = await claimWriter(conversationId, newId());
    if (!claim) {
      replyStarting = false;
      return false;
    }
    const conversation = await db.conversations.get(conversationId);
    // Counted again with the model that answers (a document may have been attached before it loaded).
    const counted = attachments.length ? await recountAttachments(attachments) : [];
    user = await addMessage({
      conversationId,
      parentId: conversation?.activeLeafId ?? ROOT,
      role: 'user',
      content,
      ...(counted.length ? { attachments: counted } : {}),
      status: 'complete',
    });
    if (!conversation?.title) await updateConversation(conversationId, { title: titleFrom(content || attachments[0].name) }).catch(() => undefined);
  } catch (error) {
    // Storage refused the message: nothing is sent and the composer keeps the text.
    replyStarting = false;
    claim?.writer.release();
    useAppStore.setState({ chatError: { code: 'message-not-saved', detail: String(error) } });
    return false;
  }
  void askForPersistence();
  void generateReply(conversationId, user.id, undefined, claim);
  return true;
}

/** Stops the reply being generated; the partial text is kept. */
export async function stopGeneration(): Promise<void> {
  const generation = useAppStore.getState().generation;
  if (generation) await engineClient().stop(generation.requestId);
}

/** Lets other tabs stop the reply this one writes; returns the function that stops listening. */
export function acceptStopsFromOtherTabs(): () => void {
  return listenForReplyStops((messageId) => {
    if (useAppStore.getState().generation?.messageId === messageId) void stopGeneration();
  });
}

/**
 * Editing a user message adds a new version beside it (with the same documents) and answers that;
 * false when nothing was stored (another tab writes a reply in this conversation, or storage
 * refused it), so the editor stays open.
 */
export async function editUserMessage(message: MessageRecord, text: string): Promise<boolean> {
  const content = text.trim();
  if ((!content && !message.attachments?.length) || message.role !== 'user' || useAppStore.getState().generation || replyStarting) return false;
  // Without a loaded model there is no claim: the edit is kept, unanswered, as before.
  let claim: ReplyClaim | null = null;
  if (claimReply()) {
    claim = await claimWriter(message.conversationId, newId());
    if (!claim) {
      replyStarting = false;
      return false;
    }
  }
  let edited: MessageRecord;
  try {
    edited = await addMessage({
      conversationId: message.conversationId,
      parentId: message.parentId,
      role: 'user',
      content,
      ...(message.attachments?.length ? { attachments: message.attachments } : {}),
      status: 'complete',
    });
  } catch (error) {
    if (claim) {
      replyStarting = false;
      claim.writer.release();
    }
    useAppStore.setState({ chatError: { code: 'message-not-saved', detail: String(error) } });
    return false;
  }
  if (claim) void generateReply(message.conversationId, edited.id, undefined, claim);
  return true;
}

/** A new version of a reply, beside the old one. */
export async function regenerateReply(message: MessageRecord): Promise<void> {
  if (message.role !== 'assistant' || useAppStore.getState().generation) return;
  await generateReply(message.conversationId, message.parentId);
}

/** Continues a stopped or interrupted reply where it ended. */
export async function continueReply(message: MessageRecord): Promise<void> {
  if (message.role !== 'assistant' || useAppStore.getState().generation) return;
  await generateReply(message.conversationId, message.parentId, message);
}
