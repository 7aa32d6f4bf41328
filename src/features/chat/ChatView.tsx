/**
 * The open conversation: its title, then the path from the active leaf to the root, read live
 * from IndexedDB.
 * The reply being generated shows the store's streaming text (updated per token) rather than the
 * throttled copy in the database.
 */
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { db } from '../../db/app-db.ts';
import { messagesOf, pathTo } from '../../db/conversations.ts';
import { MessageItem } from './MessageItem.tsx';

export function ChatView() {
  const { t } = useTranslation();
  const conversationId = useAppStore((s) => s.activeConversationId);
  const generation = useAppStore((s) => s.generation);
  const data = useLiveQuery(async () => {
    if (!conversationId) return null;
    const [conversation, messages] = await Promise.all([db.conversations.get(conversationId), messagesOf(conversationId)]);
    return conversation ? { conversation, messages } : null;
  }, [conversationId]);
  const thread = data ? pathTo(data.messages, data.conversation.activeLeafId) : [];
  // The messages the latest reply did not see: whole oldest turns left out to fit the window.
  const leftOut = new Set([...thread].reverse().find((m) => m.context)?.context?.droppedMessageIds ?? []);
  const streamingText = generation?.text;
  const focusMessageId = useAppStore((s) => s.focusMessageId);
  const log = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const focusOnThread = focusMessageId !== null && thread.some((m) => m.id === focusMessageId);

  // Another conversation starts at its end.
  useEffect(() => {
    pinned.current = true;
  }, [conversationId]);

  // Follow the reply while it streams, unless the user scrolled up to read.
  useEffect(() => {
    const element = log.current;
    if (element && pinned.current && !focusMessageId) element.scrollTop = element.scrollHeight;
  }, [thread.length, streamingText, focusMessageId, conversationId]);

  // A search hit: scroll it into view and highlight it briefly.
  useEffect(() => {
    if (!focusOnThread || !focusMessageId) return;
    document.getElementById(`message-${focusMessageId}`)?.scrollIntoView({ block: 'center' });
    pinned.current = false;
    const timer = setTimeout(() => useAppStore.setState({ focusMessageId: null }), 2500);
    return () => clearTimeout(timer);
  }, [focusOnThread, focusMessageId]);

  return (
    <>
      <h2 className="chat-title" id="chat-title">
        {data?.conversation.title || t('conversations.untitled')}
      </h2>
      <div
        ref={log}
        className="chat-log"
        role="log"
        aria-label={t('chat.conversation')}
        aria-busy={generation !== null}
        tabIndex={0}
        onScroll={(event) => {
          const el = event.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
        }}
      >
        {thread.length === 0 && <p className="chat-empty">{t('chat.empty')}</p>}
        {data &&
          thread.map((message) => (
            <MessageItem
              key={message.id}
              message={message}
              allMessages={data.messages}
              found={message.id === focusMessageId}
              leftOut={leftOut.has(message.id)}
              streamingText={generation?.messageId === message.id ? generation.text : undefined}
            />
          ))}
      </div>
    </>
  );
}
