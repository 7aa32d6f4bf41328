/**
 * The conversation export file (JSON) and its validation on import.
 *
 * The format is versioned: `format` names it, `version` says which shape follows (2 added attachments). A file from a
 * newer Hanmadi (a higher version) is refused with its own message rather than half-read. Import
 * validates everything before anything is written, and gives every conversation and message a new
 * id, so importing can never overwrite what is already stored (importing twice makes two copies).
 *
 * The validator is hand-written rather than a schema library: the checks that matter most are
 * about the message tree (ids unique, parents present, no cycles, the active leaf exists), which a
 * schema cannot express, and the shape part is a few dozen lines; no runtime dependency is added.
 */
import type { GenerationStats, SamplingParams } from '../model/generation.ts';
import { attachmentKindOf, MAX_ATTACHMENT_CHARS, type Attachment, type AttachmentKind } from '../model/attachments.ts';
import { ROOT, type ConversationRecord, type MessageRecord, type MessageStatus } from './app-db.ts';

export const EXPORT_FORMAT = 'hanmadi-conversations';
/** Version 2 added messages' attachments; version 1 files (none) are still read. */
export const EXPORT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];
/**
 * What one import may hold. Far above a person's history, and small enough that the import
 * (parsed and checked in a worker, written in batches) and the thread it opens stay quick. Each
 * refusal names its limit.
 */
export interface ImportLimits {
  /** The file's size: larger files are refused before they are read. */
  fileBytes: number;
  /** Messages in the file, all conversations together. */
  fileMessages: number;
  /** Messages in one conversation (its whole tree). */
  conversationMessages: number;
  /** One message's (or system prompt's) length in UTF-16 units, about 1 MB of text. */
  messageChars: number;
  /** A title's length; the app writes at most 60 characters. */
  titleChars: number;
}

export const IMPORT_LIMITS: ImportLimits = {
  fileBytes: 32 * 1024 * 1024,
  fileMessages: 300_000,
  conversationMessages: 250_000,
  messageChars: 1_000_000,
  titleChars: 1_000,
};

// The file's shapes are spelled out rather than derived from the database records: a versioned
// format must not change when the stored records do.
export interface ExportedMessage {
  id: string;
  /** '' for the first message of a thread. */
  parentId: string;
  role: 'user' | 'assistant';
  content: string;
  /** Documents sent with a user message (version 2). */
  attachments?: ExportedAttachment[];
  createdAt: number;
  status: MessageStatus;
  modelId?: string;
  stats?: GenerationStats;
}

export interface ExportedAttachment {
  name: string;
  kind: AttachmentKind;
  size: number;
  text: string;
  tokens?: number;
}

export interface ExportedConversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  /** The message at the end of the visible thread; '' when empty. */
  activeLeafId: string;
  systemPrompt: string;
  sampling: Partial<SamplingParams>;
  /** The whole message tree, earlier versions included. */
  messages: ExportedMessage[];
}

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: string;
  conversations: ExportedConversation[];
}

export interface ConversationWithMessages {
  conversation: ConversationRecord;
  messages: MessageRecord[];
}

function exportedAttachment(a: Attachment): ExportedAttachment {
  return { name: a.name, kind: a.kind, size: a.size, text: a.text, ...(a.tokens !== undefined ? { tokens: a.tokens } : {}) };
}

export function buildExport(items: readonly ConversationWithMessages[], now = new Date()): ExportFile {
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: now.toISOString(),
    conversations: items.map(({ conversation: c, messages }) => ({
      id: c.id,
      title: c.title,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      activeLeafId: c.activeLeafId,
      systemPrompt: c.systemPrompt,
      sampling: { ...c.sampling },
      messages: [...messages]
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((m) => ({
          id: m.id,
          parentId: m.parentId,
          role: m.role,
          content: m.content,
          ...(m.attachments?.length ? { attachments: m.attachments.map(exportedAttachment) } : {}),
          createdAt: m.createdAt,
          status: m.status,
          ...(m.modelId !== undefined ? { modelId: m.modelId } : {}),
          ...(m.stats !== undefined ? { stats: m.stats } : {}),
        })),
    })),
  };
}

/** Why a file cannot be imported; each code has a translated message (conversations.importError.*). */
export type ImportProblem =
  | { code: 'too-large'; limitBytes: number }
  | { code: 'not-json' }
  | { code: 'not-hanmadi' }
  | { code: 'unknown-version'; version: string }
  | { code: 'invalid'; path: string }
  | { code: 'empty' }
  | { code: 'too-many-messages'; limit: number }
  /** One conversation's tree is over the limit; `title` names it. */
  | { code: 'conversation-too-long'; title: string; limit: number }
  | { code: 'text-too-long'; path: string; limit: number }
  /** The file could not be read, or the database refused the write (e.g. storage full). */
  | { code: 'read-failed' }
  | { code: 'write-failed'; detail: string };

export type ImportResult = { ok: true; conversations: ExportedConversation[] } | { ok: false; problem: ImportProblem };

export function checkImportSize(bytes: number, limits: ImportLimits = IMPORT_LIMITS): ImportProblem | null {
  return bytes > limits.fileBytes ? { code: 'too-large', limitBytes: limits.fileBytes } : null;
}

/**
 * Counts validation's visits to messages (reading one, each step of the tree check), so a test
 * can show the work grows linearly with the file: counts, not times, which a shared machine blurs.
 */
export interface ValidationSteps {
  count: number;
}

/** How one file is checked: its limits and, for tests, a step counter. */
interface Validation {
  limits: ImportLimits;
  steps: ValidationSteps;
}

class Invalid extends Error {
  constructor(readonly path: string) {
    super(path);
  }
}

/** A well-formed file over one of the limits above. */
class OverLimit extends Error {
  constructor(readonly problem: ImportProblem) {
    super(problem.code);
  }
}

/** A string field within `limit` UTF-16 units. */
function text(object: Json, key: string, path: string, limit: number): string {
  const value = field(object, key, path, isString);
  if (value.length > limit) throw new OverLimit({ code: 'text-too-long', path: `${path}.${key}`.replace(/^\$\./, ''), limit });
  return value;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function field<T>(object: Json, key: string, path: string, check: (v: unknown) => v is T): T {
  const value = object[key];
  if (!check(value)) throw new Invalid(`${path}.${key}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
// Within what a Date can hold (±8.64e15 ms), so every timestamp can be displayed.
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 8.64e15;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRole = (v: unknown): v is 'user' | 'assistant' => v === 'user' || v === 'assistant';
const STATUSES: readonly MessageStatus[] = ['complete', 'streaming', 'stopped', 'interrupted', 'error'];
const isStatus = (v: unknown): v is MessageStatus => STATUSES.includes(v as MessageStatus);
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const KINDS: readonly AttachmentKind[] = ['text', 'markdown', 'pdf'];

/** A document: a name the app would have accepted, its kind, sizes as whole numbers, text within the limit. */
function readAttachment(value: unknown, path: string): ExportedAttachment {
  if (!isObject(value)) throw new Invalid(path);
  const attachment: ExportedAttachment = {
    name: field(value, 'name', path, (v): v is string => isString(v) && attachmentKindOf(v) !== null),
    kind: field(value, 'kind', path, (v): v is AttachmentKind => KINDS.includes(v as AttachmentKind)),
    size: field(value, 'size', path, isCount),
    text: field(value, 'text', path, (v): v is string => isString(v) && v.length <= MAX_ATTACHMENT_CHARS),
  };
  if (value.tokens !== undefined) attachment.tokens = field(value, 'tokens', path, isCount);
  return attachment;
}

const SAMPLING_KEYS: readonly (keyof SamplingParams)[] = ['temperature', 'topP', 'topK', 'repetitionPenalty', 'maxNewTokens'];
const STATS_KEYS: readonly (keyof GenerationStats)[] = [
  'prefillTokens',
  'reusedTokens',
  'promptTokens',
  'timeToFirstTokenMs',
  'prefillTokensPerSecond',
  'decodeTokens',
  'decodeTokensPerSecond',
  'totalMs',
];

function readSampling(value: unknown, path: string): Partial<SamplingParams> {
  if (!isObject(value)) throw new Invalid(path);
  const sampling: Partial<SamplingParams> = {};
  // Unknown keys are dropped (a later 1.x may add settings); known ones must be numbers.
  for (const key of SAMPLING_KEYS) {
    if (value[key] === undefined) continue;
    sampling[key] = field(value, key, path, isFiniteNumber);
  }
  return sampling;
}

function readStats(value: unknown, path: string): GenerationStats {
  if (!isObject(value)) throw new Invalid(path);
  const stats = {} as GenerationStats;
  for (const key of STATS_KEYS) stats[key] = field(value, key, path, isFiniteNumber);
  return stats;
}

function readMessage(value: unknown, path: string, check: Validation): ExportedMessage {
  check.steps.count++;
  if (!isObject(value)) throw new Invalid(path);
  const message: ExportedMessage = {
    id: field(value, 'id', path, (v): v is string => isString(v) && v !== ROOT),
    parentId: field(value, 'parentId', path, isString),
    role: field(value, 'role', path, isRole),
    content: text(value, 'content', path, check.limits.messageChars),
    createdAt: field(value, 'createdAt', path, isTime),
    status: field(value, 'status', path, isStatus),
  };
  if (value.attachments !== undefined) {
    // Only a user's message carries documents.
    if (message.role !== 'user') throw new Invalid(`${path}.attachments`);
    const list = field(value, 'attachments', path, isArray);
    if (list.length > 0) message.attachments = list.map((a, i) => readAttachment(a, `${path}.attachments[${i}]`));
  }
  if (value.modelId !== undefined) message.modelId = field(value, 'modelId', path, isString);
  if (value.stats !== undefined) message.stats = readStats(value.stats, `${path}.stats`);
  return message;
}

/**
 * The tree must hang together: unique ids, every parent present, no cycles. Linear time: each
 * message's walk towards the root stops at the first message already known to reach it, so every
 * message is walked once (a crafted 200k-message chain must not take minutes). Returns the ids.
 */
function checkTree(messages: readonly ExportedMessage[], path: string, steps: ValidationSteps): Set<string> {
  const parentOf = new Map<string, string>();
  messages.forEach((m, i) => {
    steps.count++;
    if (parentOf.has(m.id)) throw new Invalid(`${path}.messages[${i}].id`);
    parentOf.set(m.id, m.parentId);
  });
  const reachesRoot = new Set<string>();
  messages.forEach((m, i) => {
    if (m.parentId !== ROOT && !parentOf.has(m.parentId)) throw new Invalid(`${path}.messages[${i}].parentId`);
    const walk: string[] = [];
    const onWalk = new Set<string>();
    for (let current = m.id; current !== ROOT && !reachesRoot.has(current); current = parentOf.get(current) ?? ROOT) {
      steps.count++;
      if (onWalk.has(current)) throw new Invalid(`${path}.messages[${i}].parentId`);
      onWalk.add(current);
      walk.push(current);
    }
    for (const id of walk) reachesRoot.add(id);
  });
  return new Set(parentOf.keys());
}

function readConversation(value: unknown, path: string, check: Validation): ExportedConversation {
  if (!isObject(value)) throw new Invalid(path);
  const id = field(value, 'id', path, isString);
  const title = text(value, 'title', path, check.limits.titleChars);
  const createdAt = field(value, 'createdAt', path, isTime);
  const updatedAt = field(value, 'updatedAt', path, isTime);
  const systemPrompt = text(value, 'systemPrompt', path, check.limits.messageChars);
  const sampling = readSampling(value.sampling ?? {}, `${path}.sampling`);
  const list = field(value, 'messages', path, isArray);
  if (list.length > check.limits.conversationMessages) throw new OverLimit({ code: 'conversation-too-long', title, limit: check.limits.conversationMessages });
  const messages = list.map((m, i) => readMessage(m, `${path}.messages[${i}]`, check));
  const ids = checkTree(messages, path, check.steps);
  const activeLeafId = field(value, 'activeLeafId', path, isString);
  if (activeLeafId !== ROOT && !ids.has(activeLeafId)) throw new Invalid(`${path}.activeLeafId`);
  return { id, title, createdAt, updatedAt, activeLeafId, systemPrompt, sampling, messages };
}

/** Parses and validates an export file's text. Nothing is written here. */
export function parseExport(text: string, options: Partial<Validation> = {}): ImportResult {
  const limits = options.limits ?? IMPORT_LIMITS;
  const tooLarge = checkImportSize(new Blob([text]).size, limits);
  if (tooLarge) return { ok: false, problem: tooLarge };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: { code: 'not-json' } };
  }
  return validateExport(data, { limits, steps: options.steps ?? { count: 0 } });
}

/** Validates a parsed export file: its format, version, limits and every conversation's tree. */
export function validateExport(data: unknown, check: Validation): ImportResult {
  if (!isObject(data) || data.format !== EXPORT_FORMAT) return { ok: false, problem: { code: 'not-hanmadi' } };
  if (typeof data.version !== 'number') return { ok: false, problem: { code: 'invalid', path: 'version' } };
  if (!READABLE_VERSIONS.includes(data.version)) return { ok: false, problem: { code: 'unknown-version', version: String(data.version) } };
  try {
    const items = field(data, 'conversations', '$', isArray);
    // Counted before any message is read, so an oversized file costs no validation time.
    let count = 0;
    for (const item of items) count += isObject(item) && isArray(item.messages) ? item.messages.length : 0;
    if (count > check.limits.fileMessages) return { ok: false, problem: { code: 'too-many-messages', limit: check.limits.fileMessages } };
    const conversations = items.map((c, i) => readConversation(c, `conversations[${i}]`, check));
    if (conversations.length === 0) return { ok: false, problem: { code: 'empty' } };
    return { ok: true, conversations };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, problem: { code: 'invalid', path: error.path.replace(/^\$\./, '') } };
    if (error instanceof OverLimit) return { ok: false, problem: error.problem };
    throw error;
  }
}

/**
 * Records to store for validated conversations: every id new (parents and active leaf remapped),
 * replies that were streaming when exported marked interrupted, and no time later than `now`
 * (a date in the future would keep an imported conversation "most recent", reopened at every start).
 */
export function toNewRecords(conversations: readonly ExportedConversation[], newId: () => string, now = Date.now()): ConversationWithMessages[] {
  const clamp = (time: number) => Math.min(time, now);
  return conversations.map((c) => {
    const conversationId = newId();
    const ids = new Map<string, string>(c.messages.map((m) => [m.id, newId()]));
    const remap = (id: string) => (id === ROOT ? ROOT : ids.get(id)!);
    const messages: MessageRecord[] = c.messages.map((m) => ({
      id: remap(m.id),
      conversationId,
      parentId: remap(m.parentId),
      role: m.role,
      content: m.content,
      ...(m.attachments ? { attachments: m.attachments.map((a) => ({ ...a })) } : {}),
      createdAt: clamp(m.createdAt),
      status: m.status === 'streaming' ? 'interrupted' : m.status,
      ...(m.modelId !== undefined ? { modelId: m.modelId } : {}),
      ...(m.stats !== undefined ? { stats: m.stats } : {}),
    }));
    const conversation: ConversationRecord = {
      id: conversationId,
      title: c.title,
      createdAt: clamp(c.createdAt),
      updatedAt: clamp(c.updatedAt),
      activeLeafId: remap(c.activeLeafId),
      systemPrompt: c.systemPrompt,
      sampling: c.sampling,
    };
    return { conversation, messages };
  });
}
