/**
 * The chat feature's part of the app store: which conversation is open and the reply being
 * generated. Messages themselves live in IndexedDB and are read with useLiveQuery; only the
 * streaming text (updated per token) is kept here, and saved to the database throttled.
 */
import type { StateCreator } from 'zustand';
import type { ContextCount } from '../worker/protocol.ts';
import type { ErrorValue } from '../lib/errors.ts';
import type { GenerationStats } from '../model/generation.ts';

export interface ActiveGeneration {
  requestId: string;
  conversationId: string;
  messageId: string;
  text: string;
  generatedTokens: number;
}

export interface Budget {
  conversationId: string | null;
  count: ContextCount;
  /** When the draft cannot fit even alone: the context length it needs (model/context-budget.ts windowForMessage). */
  neededWindow?: number;
}

export interface ChatSlice {
  activeConversationId: string | null;
  generation: ActiveGeneration | null;
  lastStats: GenerationStats | null;
  chatError: ErrorValue | null;
  /** A message to scroll to and highlight once it is on screen (e.g. a search hit). */
  focusMessageId: string | null;
  /** The context budget of the open conversation plus the draft in the composer. */
  budget: Budget | null;
  /** Replies the database refused to save (full storage): their text, by message id, shown until the page goes away. */
  unsavedReplies: Readonly<Record<string, string>>;
}

export const createChatSlice: StateCreator<ChatSlice> = () => ({
  activeConversationId: null,
  generation: null,
  lastStats: null,
  chatError: null,
  focusMessageId: null,
  budget: null,
  unsavedReplies: {},
});
