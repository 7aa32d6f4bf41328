/**
 * Attached documents as chips: name, size and, when counted, the tokens each takes in the prompt.
 * Each chip is a list item named by its file name; in the composer it has a button to remove it.
 */
import './attachments.css';
import { useTranslation } from 'react-i18next';
import { formatBytes, formatNumber } from '../../i18n/format.ts';
import type { Attachment } from '../../model/attachments.ts';

export function AttachmentChips({ attachments, onRemove }: { attachments: readonly Attachment[]; onRemove?: (index: number) => void }) {
  const { t, i18n } = useTranslation();
  if (attachments.length === 0) return null;
  return (
    <ul className="attachment-list" aria-label={t('chat.attachments')}>
      {attachments.map((attachment, index) => (
        <li key={`${index}:${attachment.name}`} className="attachment-chip" aria-label={attachment.name} data-kind={attachment.kind}>
          <span className="attachment-name">{attachment.name}</span>
          <span className="attachment-meta" data-testid="attachment-meta" data-tokens={attachment.tokens}>
            {formatBytes(attachment.size)}
            {attachment.tokens !== undefined && ` · ${t('chat.attachmentTokens', { tokens: formatNumber(attachment.tokens, i18n.language) })}`}
          </span>
          {onRemove && (
            <button type="button" className="ghost" aria-label={t('chat.removeAttachment', { name: attachment.name })} onClick={() => onRemove(index)}>
              ×
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}
