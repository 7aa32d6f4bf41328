/**
 * Search across every conversation: titles and all messages (earlier versions included).
 * Text is compared in Unicode NFC, so a query typed as decomposed jamo (NFD, e.g. pasted from a
 * macOS file name) finds precomposed Hangul and vice versa, and Latin letters case-insensitively.
 * Every whitespace-separated term must occur in the same message, the same attached document (its
 * name or text) or the title; Hangul has no word
 * boundaries worth respecting, so terms match as substrings (`날씨` finds `오늘 날씨 어때요`).
 * A linear scan is plenty for a person's chat history (thousands of messages) and needs no index
 * to keep in sync.
 */
import { db, type ConversationRecord, type MessageRecord } from './app-db.ts';

/** NFC and lower case (locale-independent, so Turkish İ does not change the rules). */
export function normalizeForSearch(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** A Hangul syllable followed by one compatibility jamo (U+3131–U+318E) at the end of a term. */
const COMPOSING_TAIL = /([\uAC00-\uD7A3])[\u3131-\u318E]$/u;

/**
 * The query's terms. A Korean IME shows the syllable being typed as a bare jamo (`날ㅆ` on the
 * way to `날씨`); that trailing jamo is dropped so results do not vanish mid-syllable. A term of
 * jamo only (`ㅋㅋ`) is searched as written.
 */
export function searchTerms(query: string): string[] {
  return normalizeForSearch(query)
    .split(/\s+/u)
    .map((term) => term.replace(COMPOSING_TAIL, '$1'))
    .filter(Boolean);
}

export interface Snippet {
  before: string;
  match: string;
  after: string;
}

const SNIPPET_CONTEXT = 40;

/**
 * Where `terms` occur in `text`: null unless every term does; otherwise a one-line snippet around
 * the first term's first occurrence, in the text's own (NFC) letters and case.
 */
export function findInText(text: string, terms: readonly string[]): Snippet | null {
  if (terms.length === 0) return null;
  const display = text.normalize('NFC').replace(/\s+/gu, ' ');
  const folded = display.toLowerCase();
  if (!terms.every((term) => folded.includes(term))) return null;
  const at = folded.indexOf(terms[0]);
  // Lower-casing changes the length of a few letters (İ → i̇); then positions no longer line up
  // and the snippet shows the start of the text without a highlight.
  if (folded.length !== display.length) return { before: '', match: '', after: clip(display, 0, SNIPPET_CONTEXT * 2) };
  const end = at + terms[0].length;
  const start = Math.max(0, at - SNIPPET_CONTEXT);
  return {
    before: (start > 0 ? '…' : '') + display.slice(start, at),
    match: display.slice(at, end),
    after: clip(display, end, end + SNIPPET_CONTEXT),
  };
}

function clip(text: string, from: number, to: number): string {
  return text.slice(from, to) + (to < text.length ? '…' : '');
}

export interface SearchHit {
  conversation: ConversationRecord;
  /** The first matching message (newest first), absent when only the title matched. */
  message?: MessageRecord;
  /** The name of the document attached to `message` that matched, when its text did rather than the message's. */
  attachmentName?: string;
  snippet: Snippet;
}

/** Where in a message the terms occur: its text first, then each attached document. */
function findInMessage(message: MessageRecord, terms: readonly string[]): { snippet: Snippet; attachmentName?: string } | null {
  const snippet = findInText(message.content, terms);
  if (snippet) return { snippet };
  for (const attachment of message.attachments ?? []) {
    const found = findInText(`${attachment.name}\n${attachment.text}`, terms);
    if (found) return { snippet: found, attachmentName: attachment.name };
  }
  return null;
}

/** Pure matching over loaded records: one hit per conversation, most recently active first. */
export function searchRecords(query: string, conversations: readonly ConversationRecord[], messages: readonly MessageRecord[]): SearchHit[] {
  const terms = searchTerms(query);
  if (terms.length === 0) return [];
  const byConversation = new Map<string, MessageRecord[]>();
  for (const m of messages) {
    const list = byConversation.get(m.conversationId);
    if (list) list.push(m);
    else byConversation.set(m.conversationId, [m]);
  }
  const hits: SearchHit[] = [];
  for (const conversation of [...conversations].sort((a, b) => b.updatedAt - a.updatedAt)) {
    const own = (byConversation.get(conversation.id) ?? []).sort((a, b) => b.createdAt - a.createdAt);
    let hit: SearchHit | null = null;
    for (const message of own) {
      const found = findInMessage(message, terms);
      if (found) {
        hit = { conversation, message, ...found };
        break;
      }
    }
    if (!hit) {
      const snippet = findInText(conversation.title, terms);
      if (snippet) hit = { conversation, snippet };
    }
    if (hit) hits.push(hit);
  }
  return hits;
}

/** Searches the database. */
export async function searchConversations(query: string): Promise<SearchHit[]> {
  if (searchTerms(query).length === 0) return [];
  const conversations = await db.conversations.toArray();
  // Only stored conversations' messages, one index key each: an import being written (messages
  // without their conversation yet) is neither read nor, for liveQuery, a reason to search again.
  // (anyOf would observe the whole range between the smallest and the largest id, which a new
  // import's random id usually falls in: the search would restart at every batch and never show.)
  const messages = (await Promise.all(conversations.map((c) => db.messages.where('conversationId').equals(c.id).toArray()))).flat();
  return searchRecords(query, conversations, messages);
}
