/** One message with its actions: edit (user), regenerate / continue (assistant), version switcher. */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import type { MessageRecord } from '../../db/app-db.ts';
import { newestLeafBelow, siblingsOf, updateConversation } from '../../db/conversations.ts';
import { continueReply, editUserMessage, regenerateReply } from './chat-actions.ts';

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
      <button type="button" className="icon" disabled={busy || index === versions.length - 1} onClick={() => show(versions[index + 1])} aria-label={t('chat.nextVersion')}>
        ›
      </button>
    </span>
  );
}

export function MessageItem({ message, allMessages, streamingText }: { message: MessageRecord; allMessages: MessageRecord[]; streamingText?: string }) {
  const { t } = useTranslation();
  const modelReady = useAppStore((s) => s.loaded !== null);
  const busy = useAppStore((s) => s.generation !== null);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const text = streamingText ?? message.content;
  const isUser = message.role === 'user';
  const canContinue = !isUser && (message.status === 'stopped' || message.status === 'interrupted');

  return (
    <article className={`message message-${message.role}`} aria-label={isUser ? t('chat.you') : t('chat.assistant')} data-status={message.status}>
      <header className="message-meta">
        <span className="message-author">{isUser ? t('chat.you') : t('chat.assistant')}</span>
        <VersionSwitcher message={message} allMessages={allMessages} />
        {message.status !== 'complete' && message.status !== 'streaming' && <span className={`badge badge-${message.status}`}>{t(`chat.status.${message.status}`)}</span>}
      </header>
      {editing ? (
        <form
          className="message-edit"
          onSubmit={(event) => {
            event.preventDefault();
            setEditing(false);
            void editUserMessage(message, draft);
          }}
        >
          <textarea value={draft} onChange={(e) => setDraft(e.target.value)} aria-label={t('chat.editMessage')} rows={3} autoFocus />
          <div className="message-actions">
            <button type="submit" disabled={!modelReady || busy || !draft.trim()}>
              {t('chat.saveAndSend')}
            </button>
            <button type="button" className="ghost" onClick={() => setEditing(false)}>
              {t('chat.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <div className="message-text" data-testid="message-text">
          {text}
          {streamingText !== undefined && <span className="cursor" aria-hidden="true" />}
        </div>
      )}
      {!editing && streamingText === undefined && (
        <div className="message-actions">
          {isUser ? (
            <button type="button" className="ghost" disabled={busy} onClick={() => (setDraft(message.content), setEditing(true))}>
              {t('chat.edit')}
            </button>
          ) : (
            <>
              <button type="button" className="ghost" disabled={!modelReady || busy} onClick={() => void regenerateReply(message)}>
                {t('chat.regenerate')}
              </button>
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
