/**
 * The sidebar's two notices: Undo after a delete (it waits while the pointer or keyboard focus
 * is on it, so nobody has to race a timer), and the outcome of an import.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { formatNumber } from '../../i18n/format.ts';
import { cancelImport, dismissTransferNotice, dismissUndo, undoDelete } from './conversation-actions.ts';
import type { ConversationImportProgress } from '../../worker/protocol.ts';

const UNDO_MS = 10_000;

export function UndoToast() {
  const deleted = useAppStore((s) => s.deleted);
  // Keyed by the conversation, so a second delete starts a fresh toast (focus and timer).
  return deleted ? <UndoToastFor key={deleted.conversation.id} title={deleted.conversation.title} /> : null;
}

function UndoToastFor({ title }: { title: string }) {
  const { t } = useTranslation();
  const [held, setHeld] = useState(false);
  useEffect(() => {
    if (held) return;
    const timer = setTimeout(dismissUndo, UNDO_MS);
    return () => clearTimeout(timer);
  }, [held]);
  return (
    <div
      className="toast"
      role="status"
      onMouseEnter={() => setHeld(true)}
      onMouseLeave={() => setHeld(false)}
      onFocus={() => setHeld(true)}
      onBlur={(e) => !e.currentTarget.contains(e.relatedTarget) && setHeld(false)}
    >
      <p>{t('conversations.deleted', { title: title || t('conversations.untitled') })}</p>
      {/* Focus lands on Undo, so a keyboard user can take the delete back at once. */}
      <button type="button" autoFocus onClick={() => void undoDelete()}>
        {t('conversations.undo')}
      </button>
      <button type="button" className="icon ghost" aria-label={t('conversations.dismiss')} onClick={dismissUndo}>
        ×
      </button>
    </div>
  );
}

/** An import under way: its phase, messages written of all, and Cancel (nothing of it is kept then). */
function ImportProgressNotice({ progress }: { progress: ConversationImportProgress }) {
  const { t, i18n } = useTranslation();
  const writing = progress.phase === 'writing' && progress.totalMessages > 0;
  return (
    <div className="notice notice-ok import-progress" role="status" data-testid="import-progress">
      <p>
        {writing
          ? t('conversations.importing', {
              written: formatNumber(progress.writtenMessages, i18n.language),
              total: formatNumber(progress.totalMessages, i18n.language),
            })
          : t(`conversations.importPhase.${progress.phase}`)}
      </p>
      <progress
        max={writing ? progress.totalMessages : undefined}
        value={writing ? progress.writtenMessages : undefined}
        aria-label={t('conversations.importProgress')}
      />
      <button type="button" className="ghost" onClick={() => void cancelImport()}>
        {t('conversations.cancelImport')}
      </button>
    </div>
  );
}

export function TransferNotice() {
  const { t, i18n } = useTranslation();
  const notice = useAppStore((s) => s.transferNotice);
  if (!notice) return null;
  if (notice.kind === 'importing') return <ImportProgressNotice progress={notice.progress} />;
  let text: string;
  if (notice.kind === 'imported') {
    text = t('conversations.imported', { count: formatNumber(notice.count, i18n.language) });
  } else if (notice.kind === 'import-cancelled') {
    text = t('conversations.importCancelled');
  } else {
    const problem = notice.problem;
    const params =
      problem.code === 'too-large'
        ? { size: formatNumber(problem.limitBytes / 1024 / 1024, i18n.language, { style: 'unit', unit: 'megabyte', maximumFractionDigits: 0 }) }
        : problem.code === 'unknown-version'
          ? { version: problem.version }
          : problem.code === 'invalid'
            ? { path: problem.path }
            : problem.code === 'too-many-messages'
              ? { limit: formatNumber(problem.limit, i18n.language) }
              : problem.code === 'conversation-too-long'
                ? { title: problem.title || t('conversations.untitled'), limit: formatNumber(problem.limit, i18n.language) }
                : problem.code === 'text-too-long'
                  ? { path: problem.path, limit: formatNumber(problem.limit, i18n.language) }
                  : {};
    text = t(`conversations.importError.${problem.code}`, params);
  }
  const isError = notice.kind === 'import-error';
  return (
    <div className={isError ? 'notice notice-error' : 'notice notice-ok'} role={isError ? 'alert' : 'status'} data-testid="transfer-notice">
      <p>{text}</p>
      <button type="button" className="ghost" onClick={dismissTransferNotice}>
        {t('errors.dismiss')}
      </button>
    </div>
  );
}
