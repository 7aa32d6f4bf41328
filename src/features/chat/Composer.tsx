/**
 * The message box. Enter sends, Shift+Enter adds a line, and a Korean IME's composition never
 * sends a half-typed syllable (see ime.ts). While a reply streams, the button is Stop. Documents
 * (.txt, .md, .pdf) come in through Attach file or by dropping them on the box; they go with the
 * next message, shown as chips. Below it, the context budget: the tokens the conversation, the
 * draft and its documents take of the window, recounted by the worker a moment after typing stops.
 * A message that cannot fit stays in the box, with the context length that would hold it (and its
 * KV memory) when the model offers one, or a clear refusal when none does.
 */
import './chat.css';
import './attachments.css';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import { db } from '../../db/app-db.ts';
import { formatBytes, formatNumber } from '../../i18n/format.ts';
import { ACCEPTED_FILE_TYPES, type Attachment } from '../../model/attachments.ts';
import { shortestLengthHolding } from '../../model/context-budget.ts';
import { refreshBudget, sendMessage, stopGeneration } from './chat-actions.ts';
import { readAttachments } from './attachment-actions.ts';
import { AttachmentChips } from './AttachmentChips.tsx';
import { IME_PROCESS_KEY, shouldSendOnKeyDown } from './ime.ts';

/** Recount this long after the last keystroke: a tokenizer pass per pause, not per key. */
const BUDGET_DEBOUNCE_MS = 250;

/** Reloads the model with another context length (the shell wires it to the models feature). */
export type ChooseContextLength = (tokens: number) => void;

/** For a draft that cannot fit even alone: the length that holds it with its KV memory, or why none does. */
function ContextOffer({ neededWindow, onChooseContextLength }: { neededWindow: number; onChooseContextLength?: ChooseContextLength }) {
  const { t, i18n } = useTranslation();
  const loaded = useAppStore((s) => s.loaded);
  const choices = useAppStore((s) => s.contextChoices);
  const n = (value: number) => formatNumber(value, i18n.language);
  const options = choices && loaded && choices.modelId === loaded.modelId ? choices.options : [];
  const fits = shortestLengthHolding(options, neededWindow);
  if (!fits) {
    const usable = options.filter((o) => !o.refusal).map((o) => o.tokens);
    const max = usable.length ? Math.max(...usable) : (loaded?.contextWindow ?? 0);
    return (
      <p className="context-offer context-budget-over" data-testid="context-offer" data-needed={neededWindow}>
        {t('chat.noLengthFits', { needed: n(neededWindow), max: n(max) })}
      </p>
    );
  }
  return (
    <p className="context-offer" data-testid="context-offer" data-needed={neededWindow} data-fits={fits.tokens}>
      {t('chat.neededWindow', { needed: n(neededWindow) })} {t('chat.lengthFits', { tokens: n(fits.tokens), memory: formatBytes(fits.kvBytes) })}
      {onChooseContextLength && (
        <button type="button" onClick={() => onChooseContextLength(fits.tokens)}>
          {t('chat.useLength', { tokens: n(fits.tokens) })}
        </button>
      )}
    </p>
  );
}

function ContextBudget({ onChooseContextLength }: { onChooseContextLength?: ChooseContextLength }) {
  const { t, i18n } = useTranslation();
  const budget = useAppStore((s) => s.budget);
  const conversationId = useAppStore((s) => s.activeConversationId);
  if (!budget || budget.conversationId !== conversationId) return <p id="context-budget" className="context-budget" data-testid="context-budget" />;
  const n = (value: number) => formatNumber(value, i18n.language);
  const { count } = budget;
  return (
    <>
      <p
        id="context-budget"
        className={count.fits ? 'context-budget' : 'context-budget context-budget-over'}
        data-testid="context-budget"
        data-window={count.window}
        data-used={count.fits ? count.promptTokens : undefined}
        data-dropped-turns={count.fits ? count.droppedTurns : undefined}
      >
        {count.fits
          ? t('chat.budget', { used: n(count.promptTokens), window: n(count.window) })
          : count.code === 'message-too-long'
            ? t('chat.budgetTooLong', { tokens: n(count.neededTokens), fit: n(count.availableTokens), window: n(count.window) })
            : t('chat.budgetSystemTooLong', { window: n(count.window) })}
        {count.fits && count.droppedTurns > 0 && ` · ${t('chat.budgetDrops', { count: count.droppedTurns })}`}
      </p>
      {budget.neededWindow !== undefined && <ContextOffer neededWindow={budget.neededWindow} onChooseContextLength={onChooseContextLength} />}
    </>
  );
}

const hasFiles = (event: DragEvent) => Array.from(event.dataTransfer.types).includes('Files');

export function Composer({ onChooseContextLength }: { onChooseContextLength?: ChooseContextLength }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [reading, setReading] = useState<string[]>([]);
  const [dropping, setDropping] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const composing = useRef(false);
  const sending = useRef(false);
  const modelReady = useAppStore((s) => s.loaded !== null && s.deviceLost === null);
  const generating = useAppStore((s) => s.generation !== null);
  const loaded = useAppStore((s) => s.loaded);
  const conversationId = useAppStore((s) => s.activeConversationId);
  // What the budget depends on besides the draft: the visible thread, system prompt and reply length.
  const conversationKey = useLiveQuery(async () => {
    const c = conversationId ? await db.conversations.get(conversationId) : undefined;
    return c ? `${c.id}|${c.activeLeafId}|${c.updatedAt}|${c.systemPrompt}|${c.sampling.maxNewTokens ?? ''}` : '';
  }, [conversationId]);

  useEffect(() => {
    if (!loaded || generating) return;
    const timer = setTimeout(() => void refreshBudget(text, attachments), BUDGET_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text, attachments, loaded, generating, conversationKey]);

  // A file dropped beside the box must not make the browser open it in place of the app.
  useEffect(() => {
    const keepPage = (event: globalThis.DragEvent) => {
      if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
    };
    window.addEventListener('dragover', keepPage);
    window.addEventListener('drop', keepPage);
    return () => {
      window.removeEventListener('dragover', keepPage);
      window.removeEventListener('drop', keepPage);
    };
  }, []);

  const addFiles = async (files: readonly File[]) => {
    if (files.length === 0) return;
    const names = files.map((f) => f.name);
    setReading((list) => [...list, ...names]);
    try {
      const read = await readAttachments(files);
      setAttachments((list) => [...list, ...read]);
    } finally {
      setReading((list) => list.filter((name) => !names.includes(name)));
    }
  };

  const canSend = modelReady && !generating && reading.length === 0 && (text.trim() !== '' || attachments.length > 0);

  const send = async () => {
    if (!canSend || sending.current) return;
    sending.current = true;
    const sent = text;
    const sentAttachments = attachments;
    try {
      // Cleared only once the message is in the conversation; a refused one stays here.
      if (await sendMessage(sent, sentAttachments)) {
        setText((current) => (current === sent ? '' : current));
        setAttachments((current) => (current === sentAttachments ? [] : current));
      }
    } finally {
      sending.current = false;
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    const native = event.nativeEvent;
    // (Esc stops a reply from anywhere: the app's global shortcut.)
    if (event.key !== 'Enter') return;
    if (shouldSendOnKeyDown({ key: event.key, shiftKey: event.shiftKey, isComposing: native.isComposing, keyCode: native.keyCode }, composing.current)) {
      event.preventDefault();
      void send();
    } else if (!event.shiftKey && !native.isComposing && !composing.current && native.keyCode !== IME_PROCESS_KEY) {
      event.preventDefault(); // plain Enter never adds a newline, even when there is nothing to send
    }
  };

  return (
    <form
      className={dropping ? 'composer composer-dropping' : 'composer'}
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
      onDragOver={(event) => {
        if (!hasFiles(event)) return;
        event.preventDefault(); // accept the drop
        event.dataTransfer.dropEffect = 'copy';
        setDropping(true);
      }}
      onDragLeave={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={(event) => {
        if (!hasFiles(event)) return;
        event.preventDefault(); // never let the browser open the file instead
        setDropping(false);
        void addFiles(Array.from(event.dataTransfer.files));
      }}
    >
      <AttachmentChips attachments={attachments} onRemove={(index) => setAttachments((list) => list.filter((_, i) => i !== index))} />
      {reading.length > 0 && (
        <p className="attachment-reading" role="status">
          {reading.map((name) => t('chat.readingAttachment', { name })).join(' ')}
        </p>
      )}
      <textarea
        id="composer-input"
        aria-label={t('chat.message')}
        placeholder={modelReady ? t('chat.placeholder') : t('chat.placeholderNoModel')}
        title={t('chat.dropFiles')}
        value={text}
        rows={2}
        aria-describedby="context-budget"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
        onCompositionStart={() => (composing.current = true)}
        onCompositionEnd={() => (composing.current = false)}
      />
      <input
        ref={fileInput}
        type="file"
        accept={ACCEPTED_FILE_TYPES}
        multiple
        hidden
        onChange={(event) => {
          const files = Array.from(event.target.files ?? []);
          event.target.value = ''; // the same file can be attached again
          void addFiles(files);
        }}
      />
      <button type="button" className="ghost" onClick={() => fileInput.current?.click()}>
        {t('chat.attachFile')}
      </button>
      {generating ? (
        <button type="button" className="stop" onClick={() => void stopGeneration()}>
          {t('chat.stop')}
        </button>
      ) : (
        <button type="submit" disabled={!canSend}>
          {t('chat.send')}
        </button>
      )}
      <ContextBudget onChooseContextLength={onChooseContextLength} />
    </form>
  );
}
