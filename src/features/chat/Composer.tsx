/**
 * The message box. Enter sends, Shift+Enter adds a line, and a Korean IME's composition never
 * sends a half-typed syllable (see ime.ts). While a reply streams, the button is Stop. Below it,
 * the context budget: the tokens the conversation and the draft take of the window, recounted by
 * the worker a moment after typing stops. A message that cannot fit stays in the box.
 */
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { db } from '../../db/app-db.ts';
import { formatNumber } from '../../i18n/format.ts';
import { refreshBudget, sendMessage, stopGeneration } from './chat-actions.ts';
import { IME_PROCESS_KEY, shouldSendOnKeyDown } from './ime.ts';

/** Recount this long after the last keystroke: a tokenizer pass per pause, not per key. */
const BUDGET_DEBOUNCE_MS = 250;

function ContextBudget() {
  const { t, i18n } = useTranslation();
  const budget = useAppStore((s) => s.budget);
  const conversationId = useAppStore((s) => s.activeConversationId);
  if (!budget || budget.conversationId !== conversationId) return <p id="context-budget" className="context-budget" data-testid="context-budget" />;
  const n = (value: number) => formatNumber(value, i18n.language);
  const { count } = budget;
  return (
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
  );
}

export function Composer() {
  const { t } = useTranslation();
  const [text, setText] = useState('');
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
    const timer = setTimeout(() => void refreshBudget(text), BUDGET_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text, loaded, generating, conversationKey]);

  const send = async () => {
    if (!modelReady || generating || !text.trim() || sending.current) return;
    sending.current = true;
    const sent = text;
    try {
      // Cleared only once the message is in the conversation; a refused one stays here.
      if (await sendMessage(sent)) setText((current) => (current === sent ? '' : current));
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
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      <textarea
        id="composer-input"
        aria-label={t('chat.message')}
        placeholder={modelReady ? t('chat.placeholder') : t('chat.placeholderNoModel')}
        value={text}
        rows={2}
        aria-describedby="context-budget"
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
        onCompositionStart={() => (composing.current = true)}
        onCompositionEnd={() => (composing.current = false)}
      />
      {generating ? (
        <button type="button" className="stop" onClick={() => void stopGeneration()}>
          {t('chat.stop')}
        </button>
      ) : (
        <button type="submit" disabled={!modelReady || !text.trim()}>
          {t('chat.send')}
        </button>
      )}
      <ContextBudget />
    </form>
  );
}
