/**
 * A conversation as a Markdown document: title, system prompt, then the visible thread (the
 * versions on screen, not the whole tree), each turn under a heading with its author, a user's
 * turn with the names of the documents sent with it.
 */
import { pathTo } from '../../db/conversations.ts';
import type { ConversationWithMessages } from '../../db/export-format.ts';

export interface MarkdownExportLabels {
  untitled: string;
  systemPrompt: string;
  /** Before the names of the documents sent with a message (their text stays in the JSON export). */
  attached: string;
  you: string;
  assistant: string;
  /** Shown under the title, e.g. "Exported 2024. 3. 5. 오후 3:04". */
  exported: string;
}

export function conversationToMarkdown({ conversation, messages }: ConversationWithMessages, labels: MarkdownExportLabels): string {
  const parts = [`# ${conversation.title.replace(/\s+/gu, ' ').trim() || labels.untitled}`];
  if (conversation.systemPrompt.trim()) {
    const quoted = conversation.systemPrompt
      .trim()
      .split('\n')
      .map((line) => `> ${line}`)
      .join('\n');
    parts.push(`> **${labels.systemPrompt}**\n>\n${quoted}`);
  }
  for (const message of pathTo(messages, conversation.activeLeafId)) {
    parts.push(`## ${message.role === 'user' ? labels.you : labels.assistant}`);
    if (message.attachments?.length) parts.push(`*${labels.attached}* ${message.attachments.map((a) => `\`${a.name.replace(/`/gu, "'")}\``).join(', ')}`);
    if (message.content.trim()) parts.push(message.content.trim());
  }
  return `${parts.join('\n\n')}\n`;
}

export function conversationsToMarkdown(items: readonly ConversationWithMessages[], labels: MarkdownExportLabels): string {
  return `*${labels.exported}*\n\n${items.map((item) => conversationToMarkdown(item, labels)).join('\n---\n\n')}`;
}

/** A file name from a title: letters of any script and digits kept, the rest folded to '-'. */
export function fileStem(title: string, fallback: string): string {
  const stem = Array.from(
    title
      .normalize('NFC')
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-+|-+$/g, ''),
  )
    .slice(0, 40)
    .join('');
  return stem.replace(/-+$/, '') || fallback;
}
