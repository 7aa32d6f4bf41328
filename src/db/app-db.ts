/**
 * Hanmadi's one IndexedDB database (Dexie). Schema strings list only indexed fields; each
 * version adds tables or indexes, and data changes run in `upgrade`. Everything the user makes
 * (conversations) and everything downloaded (model files) lives here — never localStorage or the
 * Cache API.
 */
import Dexie, { type EntityTable, type Table } from 'dexie';
import type { ConversionState } from '../converter/convert.ts';
import type { SourceCheckState } from '../converter/verified-source.ts';
import type { LegacySha256State, Sha256State } from '../lib/resumable-sha256.ts';
import type { ModelDtype, ModelSource } from '../model/catalog.ts';
import type { ErrorValue } from '../lib/errors.ts';
import type { GenerationStats, SamplingParams } from '../model/generation.ts';
import type { Attachment } from '../model/attachments.ts';

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
  /**
   * Documents sent with a user message (their text reaches the model before `content`). Kept on
   * the message itself, not indexed: no schema version needed, and deleting, restoring, exporting
   * and searching a message take its documents along.
   */
  attachments?: Attachment[];
  createdAt: number;
  status: MessageStatus;
  modelId?: string;
  stats?: GenerationStats;
  error?: ErrorValue;
  /** A reply's context: the window, its prompt's tokens and the messages left out to fit. */
  context?: { window: number; promptTokens: number; droppedMessageIds: string[]; droppedTurns: number };
}

/**
 * One precision of a model kept on this device (docs/architecture.md, "Model storage"). The
 * files it needs are listed by path; their bytes live in `modelFiles`/`modelChunks` under the
 * same `modelKey`, shared with the model's other precisions (config and tokenizer are stored once).
 */
export interface StoredModelRecord {
  /** The catalog entry's id (e.g. "local:tiny-llama", "user:https://…", "import:…"). */
  modelKey: string;
  dtype: ModelDtype;
  label: string;
  source: ModelSource;
  /** For Hugging Face sources: the commit the files were pinned to when the download started. */
  revision?: string;
  /** Paths (relative to the model folder) transformers.js reads for this precision. */
  files: string[];
  totalBytes: number;
  /** 'complete' once every file is stored and verified; a repair sets it back to 'partial'. */
  status: 'partial' | 'complete';
  createdAt: number;
  lastUsedAt: number;
  completedAt?: number;
  /**
   * A conversion in the browser that has not finished (hf-safetensors sources): where it stands,
   * saved in the same transaction as the bytes it counts. Not indexed, so no schema change.
   */
  conversion?: StoredConversion;
}

/** An unfinished in-browser conversion (src/worker/hf-conversion.ts). */
export interface StoredConversion {
  /** `repo@commit`: the checkpoint's bytes the state belongs to. */
  sourceId: string;
  state: ConversionState;
  /**
   * Where the check of each source file against its published SHA-256 stands, by path
   * (src/converter/verified-source.ts); absent in states saved before the check existed.
   */
  sources?: Record<string, SourceCheckState>;
  updatedAt: number;
}

/** How a stored file's content was checked when its last byte arrived. */
export type FileVerification = 'sha256' | 'git-sha1' | 'size';

export interface StoredFileRecord {
  modelKey: string;
  path: string;
  size: number;
  /** Bytes per chunk (the last chunk is shorter); fixed for the life of the record. */
  chunkSize: number;
  /** Where the bytes came from (absent for imported files). */
  url?: string;
  /** Expected SHA-256 of the whole file (our converter's manifest, or Hugging Face LFS). */
  sha256?: string;
  /** Expected git blob id (Hugging Face files not in LFS). */
  gitSha1?: string;
  /** The server's ETag or the Hub's revision: a different one on resume restarts the file. */
  etag?: string;
  /** SHA-256 (hex) of each complete chunk, computed as it arrived: checked on every read. */
  chunkSha256: string[];
  /** Bytes stored, complete chunks and the partial tail together. */
  storedBytes: number;
  /**
   * The whole-file SHA-256 over the stored sequential bytes (the first `hashedChunks` chunks, and
   * the unfinished one's bytes when they were saved with it), so a resume goes on from it. Absent
   * for a file of one chunk (its chunk digest is the file's). Records saved before hash-wasm hold
   * the legacy form, which is never resumed: the writer hashes the stored chunks again instead.
   */
  hashState?: Sha256State | LegacySha256State;
  hashedChunks: number;
  /** Set when the last byte arrived and the whole file matched its expected size and hash. */
  verified?: FileVerification;
  updatedAt: number;
}

export interface StoredChunkRecord {
  modelKey: string;
  path: string;
  index: number;
  /** Tens of MiB at most: a file is never one huge blob. */
  data: Blob;
  /** data.size, kept as a field so completeness is known without touching the blob. */
  size: number;
}

/** An "Add model" entry or an imported folder, offered in the model picker. */
export interface UserModelRecord {
  id: string;
  label: string;
  source: ModelSource;
  dtypes: Partial<Record<ModelDtype, number | null>>;
  nativeContext: number;
  addedAt: number;
}

/**
 * An import being written (conversation-import.ts): its conversations' ids, so what it wrote can
 * be deleted if its tab goes away before the import's last transaction, which deletes this.
 */
export interface PendingImportRecord {
  id: string;
  conversationIds: string[];
  startedAt: number;
}

export class AppDB extends Dexie {
  conversations!: EntityTable<ConversationRecord, 'id'>;
  messages!: EntityTable<MessageRecord, 'id'>;
  storedModels!: Table<StoredModelRecord, [string, ModelDtype]>;
  modelFiles!: Table<StoredFileRecord, [string, string]>;
  modelChunks!: Table<StoredChunkRecord, [string, string, number]>;
  userModels!: EntityTable<UserModelRecord, 'id'>;
  pendingImports!: EntityTable<PendingImportRecord, 'id'>;

  constructor(name = 'hanmadi') {
    super(name);
    this.version(1).stores({
      conversations: 'id, updatedAt',
      messages: 'id, conversationId, [conversationId+parentId]',
    });
    // Model storage. Chunks are keyed by file and index, so a file's chunks (and a model's) are
    // a primary-key range: no secondary index on the big table. User models moved here from
    // localStorage; that data move runs on the main thread (user-models.ts), because this
    // upgrade may run in a worker, where localStorage does not exist.
    this.version(2).stores({
      storedModels: '[modelKey+dtype], lastUsedAt',
      modelFiles: '[modelKey+path]',
      modelChunks: '[modelKey+path+index]',
      userModels: 'id, addedAt',
    });
    // Conversation imports are written in batches; a marker per import under way.
    this.version(3).stores({ pendingImports: 'id' });
  }
}

export const db = new AppDB();
