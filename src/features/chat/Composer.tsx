/**
 * The message box. Enter sends, Shift+Enter adds a line, and a Korean IME's composition never
 * sends a half-typed syllable (see ime.ts). While a reply streams, the button is Stop.
 */
import { useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../app/store.ts';
import { sendMessage, stopGeneration } from './chat-actions.ts';
import { IME_PROCESS_KEY, shouldSendOnKeyDown } from './ime.ts';

export function Composer() {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const composing = useRef(false);
  const modelReady = useAppStore((s) => s.loaded !== null && s.deviceLost === null);
  const generating = useAppStore((s) => s.generation !== null);

  const send = () => {
    if (!modelReady || generating || !text.trim()) return;
    void sendMessage(text);
    setText('');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    const native = event.nativeEvent;
    // (Esc stops a reply from anywhere: the app's global shortcut.)
    if (event.key !== 'Enter') return;
    if (shouldSendOnKeyDown({ key: event.key, shiftKey: event.shiftKey, isComposing: native.isComposing, keyCode: native.keyCode }, composing.current)) {
      event.preventDefault();
      send();
    } else if (!event.shiftKey && !native.isComposing && !composing.current && native.keyCode !== IME_PROCESS_KEY) {
      event.preventDefault(); // plain Enter never adds a newline, even when there is nothing to send
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <textarea
        id="composer-input"
        aria-label={t('chat.message')}
        placeholder={modelReady ? t('chat.placeholder') : t('chat.placeholderNoModel')}
        value={text}
        rows={2}
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
    </form>
  );
}
