/**
 * The shell: header (sidebar toggle, model bar, settings, storage, shortcuts, theme, language),
 * the conversation sidebar, the chat and the settings or storage panel; global keyboard shortcuts.
 */
import './app.css';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Composer } from '../features/chat/Composer.tsx';
import { ChatView } from '../features/chat/ChatView.tsx';
import { StatsLine } from '../features/chat/StatsLine.tsx';
import { acceptStopsFromOtherTabs, markInterrupted, stopGeneration } from '../features/chat/chat-actions.ts';
import { newConversation, openLastConversation, setSidebarOpen, sweepAbandonedImports } from '../features/conversations/conversation-actions.ts';
import { Sidebar, SidebarToggle, useDrawerCovers } from '../features/conversations/Sidebar.tsx';
import { LoadProgress } from '../features/models/LoadProgress.tsx';
import { ModelBar } from '../features/models/ModelBar.tsx';
import { chooseContextLength, loadCatalog, loadSelectedModel } from '../features/models/model-actions.ts';
import { SettingsPanel } from '../features/settings/SettingsPanel.tsx';
import { StoragePanel } from '../features/storage/StoragePanel.tsx';
import { UpdateNotices } from '../features/updates/UpdateNotices.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { Notices } from './Notices.tsx';
import { isEditable, matchShortcut } from './shortcuts.ts';
import { ShortcutsDialog } from './ShortcutsDialog.tsx';
import { useAppStore } from '../state/store.ts';
import { ThemeSwitch } from './ThemeSwitch.tsx';

/** The composer's offer for a document that needs a longer context: remember that length and load the model again with it. */
function reloadWithContextLength(tokens: number): void {
  chooseContextLength(tokens);
  void loadSelectedModel();
}

const focusSoon = (id: string) => requestAnimationFrame(() => document.getElementById(id)?.focus());

export function App() {
  const { t } = useTranslation();
  const [panel, setPanel] = useState<'settings' | 'storage' | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const settingsToggle = useRef<HTMLButtonElement>(null);
  const storageToggle = useRef<HTMLButtonElement>(null);
  const toggle = (which: 'settings' | 'storage') => setPanel((open) => (open === which ? null : which));
  /** Closing a panel returns focus to the button that opened it. */
  const closePanel = (which: 'settings' | 'storage') => {
    setPanel(null);
    (which === 'settings' ? settingsToggle : storageToggle).current?.focus();
  };
  const covered = useDrawerCovers();

  useEffect(() => {
    void loadCatalog();
    // Replies cut off by a closed or crashed tab are marked before the last conversation shows.
    void markInterrupted().then(openLastConversation);
    // An import whose tab went away mid-write left messages no conversation shows: deleted in the import worker.
    void sweepAbandonedImports();
  }, []);

  // Stop pressed in another tab on the reply this tab writes.
  useEffect(acceptStopsFromOtherTabs, []);

  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return; // a field or menu handled it (e.g. Esc cancels a rename)
      const shortcut = matchShortcut({
        key: event.key,
        code: event.code,
        ctrlKey: event.ctrlKey,
        metaKey: event.metaKey,
        shiftKey: event.shiftKey,
        altKey: event.altKey,
        isComposing: event.isComposing,
        inEditable: isEditable(event.target),
      });
      // A modal dialog keeps the keyboard to itself (its Esc closes it).
      if (!shortcut || document.querySelector('dialog[open]')) return;
      if (shortcut === 'stop') {
        if (!useAppStore.getState().generation) return;
        event.preventDefault();
        void stopGeneration();
        return;
      }
      event.preventDefault();
      if (shortcut === 'new-chat') void newConversation().then(() => focusSoon('composer-input'));
      else if (shortcut === 'focus-composer') focusSoon('composer-input');
      else if (shortcut === 'help') setHelpOpen(true);
      else if (shortcut === 'search') {
        setSidebarOpen(true);
        focusSoon('conversation-search');
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);

  return (
    <div className="app">
      <a className="skip-link" href="#composer-input">
        {t('app.skipToComposer')}
      </a>
      <header className="app-header" inert={covered}>
        <SidebarToggle />
        <h1 className="brand">
          <span lang="ko">{t('app.nameHangul')}</span> <span className="brand-latin">{t('app.name')}</span>
        </h1>
        <div className="header-tools">
          <button
            type="button"
            ref={settingsToggle}
            className="ghost"
            aria-expanded={panel === 'settings'}
            aria-controls={panel === 'settings' ? 'settings-panel' : undefined}
            onClick={() => toggle('settings')}
          >
            {t('settings.open')}
          </button>
          <button
            type="button"
            ref={storageToggle}
            className="ghost"
            aria-expanded={panel === 'storage'}
            aria-controls={panel === 'storage' ? 'storage-panel' : undefined}
            onClick={() => toggle('storage')}
          >
            {t('storage.open')}
          </button>
          <button type="button" className="ghost icon" aria-label={t('shortcuts.open')} title={t('shortcuts.open')} onClick={() => setHelpOpen(true)}>
            ?
          </button>
          <ThemeSwitch />
          <LanguageSwitch />
        </div>
        <ModelBar />
      </header>
      <Notices />
      <UpdateNotices />
      <LoadProgress />
      <div className="app-body">
        <Sidebar />
        <main className="chat-column" aria-labelledby="chat-title" inert={covered}>
          <ChatView />
          <StatsLine />
          <Composer onChooseContextLength={reloadWithContextLength} />
        </main>
        {panel === 'settings' && !covered && <SettingsPanel onClose={() => closePanel('settings')} />}
        {panel === 'storage' && !covered && <StoragePanel onClose={() => closePanel('storage')} />}
      </div>
      {helpOpen && <ShortcutsDialog onClose={() => setHelpOpen(false)} />}
    </div>
  );
}
