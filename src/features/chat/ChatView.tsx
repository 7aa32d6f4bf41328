/**
 * The open conversation: its title, then the path from the active leaf to the root, read live
 * from IndexedDB, rendered by its end and more on demand (thread-window.ts).
 * The reply being generated shows the store's streaming text (updated per token) rather than the
 * throttled copy in the database.
 */
import './chat.css';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { db } from '../../db/app-db.ts';
import { messagesOf, pathTo } from '../../db/conversations.ts';
import { watchReplyWriter } from '../../db/reply-locks.ts';
import { formatNumber } from '../../i18n/format.ts';
import { MessageItem } from './MessageItem.tsx';
import { showEarlier, showLater, TAIL_WINDOW, visibleRange, windowShowing, type ThreadWindow } from './thread-window.ts';

export function ChatView() {
  const { t, i18n } = useTranslation();
  const conversationId = useAppStore((s) => s.activeConversationId);
  const generation = useAppStore((s) => s.generation);
  const unsavedReplies = useAppStore((s) => s.unsavedReplies);
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
  const focusIndex = focusMessageId === null ? -1 : thread.findIndex((m) => m.id === focusMessageId);
  const focusOnThread = focusIndex >= 0;

  // The rendered part of the thread, per conversation; a reply being written always shows the end.
  const [windowState, setWindowState] = useState<{ conversationId: string | null; window: ThreadWindow }>({ conversationId, window: TAIL_WINDOW });
  const kept = windowState.conversationId === conversationId ? windowState.window : TAIL_WINDOW;
  let threadWindow = generation && kept.anchor === 'at' ? TAIL_WINDOW : kept;
  if (focusOnThread) threadWindow = windowShowing(threadWindow, thread.length, focusIndex);
  const { start, end } = visibleRange(threadWindow, thread.length);
  // Moving the window by its top keeps what is on screen in place (measured from the bottom).
  const keepFromBottom = useRef<number | null>(null);
  const moveWindow = (next: ThreadWindow, keepPosition: boolean) => {
    const element = log.current;
    if (keepPosition && element) keepFromBottom.current = element.scrollHeight - element.scrollTop;
    setWindowState({ conversationId, window: next });
  };
  useLayoutEffect(() => {
    const element = log.current;
    if (element && keepFromBottom.current !== null) element.scrollTop = element.scrollHeight - keepFromBottom.current;
    keepFromBottom.current = null;
  }, [start]);

  // A reply another tab is writing: marked interrupted here as soon as that tab goes away mid-reply.
  const othersStreaming = thread
    .filter((m) => m.status === 'streaming' && m.id !== generation?.messageId)
    .map((m) => m.id)
    .join(' ');
  useEffect(() => {
    for (const id of othersStreaming.split(' ').filter(Boolean)) void watchReplyWriter(id);
  }, [othersStreaming]);

  // Another conversation starts at its end.
  useEffect(() => {
    pinned.current = true;
  }, [conversationId]);

  // Follow the reply while it streams, unless the user scrolled up to read.
  useEffect(() => {
    const element = log.current;
    if (element && pinned.current && !focusMessageId) element.scrollTop = element.scrollHeight;
  }, [thread.length, streamingText, focusMessageId, conversationId]);

  // A search hit: scroll it into view and highlight it briefly; the window that shows it stays after.
  const length = thread.length;
  useEffect(() => {
    if (!focusOnThread || !focusMessageId) return;
    document.getElementById(`message-${focusMessageId}`)?.scrollIntoView({ block: 'center' });
    pinned.current = false;
    const timer = setTimeout(() => {
      const shown: ThreadWindow = end === length ? { anchor: 'tail', count: length - start } : { anchor: 'at', start, count: end - start };
      setWindowState({ conversationId, window: shown });
      useAppStore.setState({ focusMessageId: null });
    }, 2500);
    return () => clearTimeout(timer);
  }, [focusOnThread, focusMessageId, conversationId, start, end, length]);

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
          pinned.current = end === thread.length && el.scrollHeight - el.scrollTop - el.clientHeight < 48;
        }}
      >
        {thread.length === 0 && <p className="chat-empty">{t('chat.empty')}</p>}
        {start > 0 && (
          <button type="button" className="ghost thread-more" onClick={() => moveWindow(showEarlier(threadWindow, thread.length), true)}>
            {t('chat.showEarlier', { count: formatNumber(start, i18n.language) })}
          </button>
        )}
        {data &&
          thread
            .slice(start, end)
            .map((message) => (
              <MessageItem
                key={message.id}
                message={message}
                allMessages={data.messages}
                found={message.id === focusMessageId}
                leftOut={leftOut.has(message.id)}
                streamingText={generation?.messageId === message.id ? generation.text : undefined}
                unsavedText={unsavedReplies[message.id]}
              />
            ))}
        {end < thread.length && (
          <button type="button" className="ghost thread-more" onClick={() => moveWindow(showLater(threadWindow, thread.length), false)}>
            {t('chat.showLater', { count: formatNumber(thread.length - end, i18n.language) })}
          </button>
        )}
      </div>
    </>
  );
}
