/**
 * Hanmadi's one IndexedDB database (Dexie). Schema strings list only indexed fields; each
 * version adds tables or indexes, and data changes run in `upgrade`. Everything the user makes
 * (conversations) and everything downloaded (model files) lives here — never localStorage or the
 * Cache API.
 */
import Dexie, { type EntityTable } from 'dexie';
import type { EngineErrorValue, GenerationStats, SamplingParams } from '../worker/protocol.ts';

/** Root messages have parentId ROOT (IndexedDB cannot index null). */
export const ROOT = '';

export interface ConversationRecord {
  id: string;
  title: string;
  createdAt: number;
  /** Last activity: the sidebar orders by it. */
  updatedAt: number;
  /** The message whose path to the root is the visible conversation; ROOT when empty. */
  activeLeafId: string;
  systemPrompt: string;
  /** Overrides of the model's generation_config defaults; absent fields use the defaults. */
  sampling: Partial<SamplingParams>;
}

export type MessageStatus = 'complete' | 'streaming' | 'stopped' | 'interrupted' | 'error';

/**
 * Messages form a tree: editing a user message or regenerating a reply adds a sibling (same
 * parentId), so earlier versions stay reachable.
 */
export interface MessageRecord {
  id: string;
  conversationId: string;
  parentId: string;
  role: 'user' | 'assistant';
  content: string;
  createdAt: number;
  status: MessageStatus;
  modelId?: string;
  stats?: GenerationStats;
  error?: EngineErrorValue;
}

export class AppDB extends Dexie {
  conversations!: EntityTable<ConversationRecord, 'id'>;
  messages!: EntityTable<MessageRecord, 'id'>;

  constructor(name = 'hanmadi') {
    super(name);
    this.version(1).stores({
      conversations: 'id, updatedAt',
      messages: 'id, conversationId, [conversationId+parentId]',
    });
  }
}

export const db = new AppDB();
