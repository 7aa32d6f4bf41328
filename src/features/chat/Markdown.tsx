/**
 * An assistant message rendered as Markdown (see markdown.ts for why this is safe). Each
 * top-level block is its own element keyed by position, so while a reply streams only the block
 * that changed gets new HTML. Code blocks' copy buttons are handled by one delegated listener.
 */
import { useMemo, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { copyText } from './copy-text.ts';
import { renderMarkdownBlocks } from './markdown.ts';

const FEEDBACK_MS = 2000;

export function Markdown({ text, streaming }: { text: string; streaming: boolean }) {
  const { t } = useTranslation();
  const copyCode = t('chat.copyCode');
  const copied = t('chat.copied');
  const blocks = useMemo(() => renderMarkdownBlocks(text, { copyCode }), [text, copyCode]);

  const onClick = (event: MouseEvent<HTMLDivElement>) => {
    const button = (event.target as Element).closest('button.code-copy');
    const code = button?.closest('.code-block')?.querySelector('code')?.textContent;
    if (!button || code == null) return;
    void copyText(code).then((ok) => {
      if (!ok) return;
      button.textContent = copied;
      setTimeout(() => (button.textContent = copyCode), FEEDBACK_MS);
    });
  };

  return (
    <div className={streaming ? 'markdown streaming' : 'markdown'} onClick={onClick}>
      {blocks.map((html, index) => (
        <div key={index} className="md-block" dangerouslySetInnerHTML={{ __html: html }} />
      ))}
    </div>
  );
}
