/**
 * One message with its actions: copy, edit (user), regenerate / continue (assistant), version
 * switcher. Replies render as sanitized Markdown; the user's own text shows as written, under the
 * chips of the documents sent with it (an edit keeps them).
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import type { MessageRecord } from '../../db/app-db.ts';
import { newestLeafBelow, siblingsOf, updateConversation } from '../../db/conversations.ts';
import { requestReplyStop } from '../../db/reply-locks.ts';
import { formatDateTime, formatNumber, formatShortDate } from '../../i18n/format.ts';
import { continueReply, editUserMessage, regenerateReply } from './chat-actions.ts';
import { copyText } from './copy-text.ts';
import { Markdown } from './Markdown.tsx';
import { AttachmentChips } from './AttachmentChips.tsx';

function VersionSwitcher({ message, allMessages }: { message: MessageRecord; allMessages: MessageRecord[] }) {
  const { t } = useTranslation();
  const busy = useAppStore((s) => s.generation !== null);
  const versions = siblingsOf(allMessages, message);
  if (versions.length < 2) return null;
  const index = versions.findIndex((m) => m.id === message.id);
  const show = (target: MessageRecord) => void updateConversation(message.conversationId, { activeLeafId: newestLeafBelow(allMessages, target.id) });
  return (
    <span className="versions" role="group" aria-label={t('chat.versions')}>
      <button type="button" className="icon" disabled={busy || index === 0} onClick={() => show(versions[index - 1])} aria-label={t('chat.previousVersion')}>
        ‹
      </button>
      <span>
        {index + 1}/{versions.length}
      </span>
      <button
        type="button"
        className="icon"
        disabled={busy || index === versions.length - 1}
        onClick={() => show(versions[index + 1])}
        aria-label={t('chat.nextVersion')}
      >
        ›
      </button>
    </span>
  );
}

function CopyButton({ text }: { text: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button type="button" className="ghost" onClick={() => void copyText(text).then(setCopied)}>
      {copied ? t('chat.copied') : t('chat.copy')}
    </button>
  );
}

export function MessageItem({
  message,
  allMessages,
  streamingText,
  unsavedText,
  found = false,
  leftOut = false,
}: {
  message: MessageRecord;
  allMessages: MessageRecord[];
  streamingText?: string;
  /** The reply's text that storage refused to save (shown instead of the stale stored copy). */
  unsavedText?: string;
  found?: boolean;
  /** Not in the latest reply's context (left out to fit the window). */
  leftOut?: boolean;
}) {
  const { t, i18n } = useTranslation();
  const modelReady = useAppStore((s) => s.loaded !== null);
  const busy = useAppStore((s) => s.generation !== null);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const text = streamingText ?? unsavedText ?? message.content;
  const streaming = streamingText !== undefined;
  const isUser = message.role === 'user';
  const canContinue = !isUser && (message.status === 'stopped' || message.status === 'interrupted');
  // Another tab is writing this reply: it can be stopped from here, not regenerated.
  const writtenElsewhere = !isUser && !streaming && message.status === 'streaming';

  return (
    <article
      id={`message-${message.id}`}
      className={`message message-${message.role}${found ? ' message-found' : ''}`}
      aria-label={isUser ? t('chat.you') : t('chat.assistant')}
      data-status={message.status}
    >
      <header className="message-meta">
        <span className="message-author">{isUser ? t('chat.you') : t('chat.assistant')}</span>
        <time dateTime={new Date(message.createdAt).toISOString()} title={formatDateTime(message.createdAt, i18n.language)}>
          {formatShortDate(message.createdAt, i18n.language)}
        </time>
        <VersionSwitcher message={message} allMessages={allMessages} />
        {unsavedText !== undefined && !streaming ? (
          <span className="badge badge-error">{t('chat.status.unsaved')}</span>
        ) : (
          message.status !== 'complete' && !streaming && <span className={`badge badge-${message.status}`}>{t(`chat.status.${message.status}`)}</span>
        )}
        {leftOut && <span className="badge badge-left-out">{t('chat.leftOut')}</span>}
      </header>
      <AttachmentChips attachments={message.attachments ?? []} />
      {editing ? (
        <form
          className="message-edit"
          onSubmit={(event) => {
            event.preventDefault();
            setEditing(false);
            // Nothing stored (another tab is replying, or storage is full): the editor comes back with the draft.
            void editUserMessage(message, draft).then((stored) => {
              if (!stored) setEditing(true);
            });
          }}
        >
          <textarea
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                e.preventDefault(); // handled here: not "stop generation"
                setEditing(false);
              }
            }}
            aria-label={t('chat.editMessage')}
            rows={3}
            autoFocus
          />
          <div className="message-actions">
            <button type="submit" disabled={!modelReady || busy || (!draft.trim() && !message.attachments?.length)}>
              {t('chat.saveAndSend')}
            </button>
            <button type="button" className="ghost" onClick={() => setEditing(false)}>
              {t('chat.cancel')}
            </button>
          </div>
        </form>
      ) : isUser ? (
        <div className="message-text plain-text" data-testid="message-text">
          {text}
        </div>
      ) : (
        <div className="message-text" data-testid="message-text">
          <Markdown text={text} streaming={streaming} />
        </div>
      )}
      {!isUser && message.context && message.context.droppedTurns > 0 && (
        <p className="context-note" data-testid="context-note">
          {t('chat.contextDropped', { turns: message.context.droppedTurns, window: formatNumber(message.context.window, i18n.language) })}
        </p>
      )}
      {!editing && !streaming && (
        <div className="message-actions">
          <CopyButton text={text} />
          {isUser ? (
            <button type="button" className="ghost" disabled={busy} onClick={() => (setDraft(message.content), setEditing(true))}>
              {t('chat.edit')}
            </button>
          ) : (
            <>
              {writtenElsewhere ? (
                // The writing tab stops it and saves it as stopped; this view follows from the database.
                <button type="button" className="ghost" onClick={() => requestReplyStop(message.id)}>
                  {t('chat.stop')}
                </button>
              ) : (
                <button type="button" className="ghost" disabled={!modelReady || busy} onClick={() => void regenerateReply(message)}>
                  {t('chat.regenerate')}
                </button>
              )}
              {canContinue && (
                <button type="button" className="ghost" disabled={!modelReady || busy} onClick={() => void continueReply(message)}>
                  {t('chat.continue')}
                </button>
              )}
            </>
          )}
        </div>
      )}
    </article>
  );
}
