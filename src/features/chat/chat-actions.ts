/**
 * Chat actions: send, stop, edit, regenerate, continue. The reply streams into the store (per
 * token) and into IndexedDB (throttled), so a killed tab leaves the partial reply behind, marked
 * interrupted at the next start. KV reuse is the engine's business: it compares token prefixes, so
 * any edit, regeneration or conversation switch resets the cache on its own.
 */
import { useAppStore } from '../../app/store.ts';
import { db, ROOT, type MessageRecord } from '../../db/app-db.ts';
import {
  addMessage,
  createConversation,
  markInterruptedReplies,
  messagesOf,
  pathTo,
  updateConversation,
  updateMessage,
} from '../../db/conversations.ts';
import { engineClient, EngineRequestError } from '../../worker/engine-client.ts';
import type { ChatMessage, ContextCount, EngineErrorValue } from '../../worker/protocol.ts';
import { clampSampling, samplingFromGenerationConfig } from '../settings/sampling-defaults.ts';

/** How often the streaming reply is written to IndexedDB. */
export const SAVE_INTERVAL_MS = 400;

/** Marks replies that were streaming when the last page died (closed, crashed) as interrupted. */
export async function markInterrupted(): Promise<void> {
  await markInterruptedReplies();
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
  for (const m of thread) if (m.content || m.role === 'user') messages.push({ role: m.role, content: m.content, id: m.id });
  return messages;
}

async function samplingFor(conversationId: string | null) {
  const loaded = useAppStore.getState().loaded;
  const conversation = conversationId ? await db.conversations.get(conversationId) : undefined;
  return clampSampling({ ...samplingFromGenerationConfig(loaded?.generationConfig ?? {}), ...conversation?.sampling });
}

/** What sending `draft` to the open conversation would take of the window (the engine plans it as a reply would). */
async function countWithDraft(conversationId: string | null, draft: string): Promise<ContextCount> {
  const conversation = conversationId ? await db.conversations.get(conversationId) : undefined;
  const history = conversation ? await promptMessages(conversation.id, conversation.activeLeafId) : [];
  // The draft has no id yet: a stand-in that no stored message has.
  const messages: ChatMessage[] = [...history, { role: 'user', content: draft, id: 'draft' }];
  return engineClient().countContext(messages, (await samplingFor(conversation?.id ?? null)).maxNewTokens);
}

let budgetRequest = 0;

/**
 * Recounts the composer's context budget (debounced by the composer): the open conversation and
 * the draft with the real tokenizer and chat template in the worker. Skipped while a reply streams
 * (the worker is busy and the conversation is about to change).
 */
export async function refreshBudget(draft: string): Promise<void> {
  const state = useAppStore.getState();
  if (!state.loaded || state.generation || state.deviceLost) return;
  const request = ++budgetRequest;
  const conversationId = state.activeConversationId;
  try {
    const count = await countWithDraft(conversationId, draft.trim());
    if (request === budgetRequest) useAppStore.setState({ budget: { conversationId, count } });
  } catch {
    if (request === budgetRequest) useAppStore.setState({ budget: null });
  }
}

function toErrorValue(error: unknown): EngineErrorValue {
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

/** Stores the reply being written and starts generating it; null when no model is loaded any more. */
async function startReply(conversationId: string, parentId: string, continueMessage?: MessageRecord) {
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
    reply = await addMessage({ conversationId, parentId, role: 'assistant', content: '', status: 'streaming', modelId: loaded.modelId });
  }

  let lastSave = 0;
  const client = engineClient();
  const { id, result } = client.generate(messages, sampling, (delta, generatedTokens) => {
    const generation = useAppStore.getState().generation;
    if (!generation || generation.requestId !== id) return;
    const text = generation.text + delta;
    useAppStore.setState({ generation: { ...generation, text, generatedTokens } });
    const now = performance.now();
    if (now - lastSave >= SAVE_INTERVAL_MS) {
      lastSave = now;
      void updateMessage(reply.id, { content: text });
    }
  }, { continueFinal: Boolean(continueMessage) });
  useAppStore.setState({ generation: { requestId: id, conversationId, messageId: reply.id, text: prefix, generatedTokens: 0 }, chatError: null });
  return { reply, prefix, result };
}

/**
 * Streams a reply to the thread ending at `parentId` (a user message, or a reply being
 * continued). `claimed`: the caller already holds the claim (claimReply).
 */
async function generateReply(conversationId: string, parentId: string, continueMessage?: MessageRecord, claimed = false): Promise<void> {
  if (!claimed && !claimReply()) return;
  let started;
  try {
    started = await startReply(conversationId, parentId, continueMessage);
  } finally {
    replyStarting = false;
  }
  if (!started) return;
  const { reply, prefix, result } = started;
  try {
    const done = await result;
    const { window, promptTokens, droppedMessageIds, droppedTurns } = done.context;
    await updateMessage(reply.id, {
      content: prefix + done.text,
      status: done.finishReason === 'stop' ? 'stopped' : 'complete',
      stats: done.stats,
      context: { window, promptTokens, droppedMessageIds, droppedTurns },
    });
    useAppStore.setState({ lastStats: done.stats });
  } catch (error) {
    const value = toErrorValue(error);
    const partial = useAppStore.getState().generation?.text ?? prefix;
    // A lost GPU leaves an intact partial reply that can be continued after a reload.
    await updateMessage(reply.id, { content: partial, status: value.code === 'device-lost' ? 'interrupted' : 'error', error: value });
    useAppStore.setState({ chatError: value });
  } finally {
    await updateConversation(conversationId, { updatedAt: Date.now() });
    useAppStore.setState({ generation: null });
  }
}

/** A conversation's first title: the start of its first message, on one line. */
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
export async function sendMessage(text: string): Promise<boolean> {
  const content = text.trim();
  const state = useAppStore.getState();
  if (!content || !state.loaded || state.generation) return false;
  // Without a count (the worker failed to answer) the engine still checks when it generates.
  const count = await countWithDraft(state.activeConversationId, content).catch(() => null);
  if (count && !count.fits) {
    const params: Record<string, number> =
      count.code === 'message-too-long' ? { tokens: count.neededTokens, fit: count.availableTokens, window: count.window } : { tokens: count.neededTokens, window: count.window };
    useAppStore.setState({ chatError: { code: count.code, params }, budget: { conversationId: state.activeConversationId, count } });
    return false;
  }
  // Claimed before the message is stored, so no other reply can start in between and leave it unanswered.
  if (!claimReply()) return false;
  let conversationId: string;
  let user: MessageRecord;
  try {
    conversationId = await activeConversationId();
    const conversation = await db.conversations.get(conversationId);
    user = await addMessage({ conversationId, parentId: conversation?.activeLeafId ?? ROOT, role: 'user', content, status: 'complete' });
    if (!conversation?.title) await updateConversation(conversationId, { title: titleFrom(content) });
  } catch (error) {
    replyStarting = false;
    throw error;
  }
  void generateReply(conversationId, user.id, undefined, true);
  return true;
}

/** Stops the reply being generated; the partial text is kept. */
export async function stopGeneration(): Promise<void> {
  const generation = useAppStore.getState().generation;
  if (generation) await engineClient().stop(generation.requestId);
}

/** Editing a user message adds a new version beside it and answers that. */
export async function editUserMessage(message: MessageRecord, text: string): Promise<void> {
  const content = text.trim();
  if (!content || message.role !== 'user' || useAppStore.getState().generation || replyStarting) return;
  // Without a loaded model there is no claim: the edit is kept, unanswered, as before.
  const claimed = claimReply();
  let edited: MessageRecord;
  try {
    edited = await addMessage({ conversationId: message.conversationId, parentId: message.parentId, role: 'user', content, status: 'complete' });
  } catch (error) {
    if (claimed) replyStarting = false;
    throw error;
  }
  if (claimed) await generateReply(message.conversationId, edited.id, undefined, true);
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
