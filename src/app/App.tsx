/** The shell: header (model bar, settings, language), the conversation and the composer. */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Composer } from '../features/chat/Composer.tsx';
import { ChatView } from '../features/chat/ChatView.tsx';
import { StatsLine } from '../features/chat/StatsLine.tsx';
import { initChat } from '../features/chat/chat-actions.ts';
import { LoadProgress } from '../features/models/LoadProgress.tsx';
import { ModelBar } from '../features/models/ModelBar.tsx';
import { loadCatalog } from '../features/models/model-actions.ts';
import { SettingsPanel } from '../features/settings/SettingsPanel.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { Notices } from './Notices.tsx';

export function App() {
  const { t } = useTranslation();
  const [settingsOpen, setSettingsOpen] = useState(false);

  useEffect(() => {
    void loadCatalog();
    void initChat();
  }, []);

  return (
    <div className="app">
      <header className="app-header">
        <h1 className="brand">
          <span lang="ko">{t('app.nameHangul')}</span> <span className="brand-latin">{t('app.name')}</span>
        </h1>
        <ModelBar />
        <div className="header-tools">
          <button type="button" className="ghost" aria-expanded={settingsOpen} aria-controls="settings-panel" onClick={() => setSettingsOpen((open) => !open)}>
            {t('settings.open')}
          </button>
          <LanguageSwitch />
        </div>
      </header>
      <Notices />
      <LoadProgress />
      <div className="app-body">
        <main className="chat-column">
          <ChatView />
          <StatsLine />
          <Composer />
        </main>
        {settingsOpen && <SettingsPanel onClose={() => setSettingsOpen(false)} />}
      </div>
    </div>
  );
}
