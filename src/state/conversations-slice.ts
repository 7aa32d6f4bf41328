/**
 * The conversations feature's part of the app store: the sidebar drawer, the last deleted
 * conversation (kept in memory so Undo can put it back) and an import's progress and outcome.
 */
import type { StateCreator } from 'zustand';
import type { ConversationWithMessages, ImportProblem } from '../db/export-format.ts';
import type { ConversationImportProgress } from '../worker/protocol.ts';

export type TransferNotice =
  /** `id` names the import for Cancel. */
  | { kind: 'importing'; id: string; progress: ConversationImportProgress }
  | { kind: 'import-error'; problem: ImportProblem }
  | { kind: 'import-cancelled' }
  | { kind: 'imported'; count: number };

export interface ConversationsSlice {
  sidebarOpen: boolean;
  /** What Undo restores; cleared when the toast goes away. */
  deleted: ConversationWithMessages | null;
  transferNotice: TransferNotice | null;
}

export const createConversationsSlice: StateCreator<ConversationsSlice> = () => ({
  // The drawer starts open where there is room beside the chat.
  sidebarOpen: typeof matchMedia === 'function' ? !matchMedia(NARROW_QUERY).matches : true,
  deleted: null,
  transferNotice: null,
});

/** Below this width the sidebar is a drawer over the chat (the stylesheets' narrow-screen media queries use the same breakpoint). */
export const NARROW_QUERY = '(max-width: 47.99rem)';
