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
import { StoragePanel } from '../features/storage/StoragePanel.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { Notices } from './Notices.tsx';

export function App() {
  const { t } = useTranslation();
  const [panel, setPanel] = useState<'settings' | 'storage' | null>(null);
  const toggle = (which: 'settings' | 'storage') => setPanel((open) => (open === which ? null : which));

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
          <button type="button" className="ghost" aria-expanded={panel === 'settings'} aria-controls="settings-panel" onClick={() => toggle('settings')}>
            {t('settings.open')}
          </button>
          <button type="button" className="ghost" aria-expanded={panel === 'storage'} aria-controls="storage-panel" onClick={() => toggle('storage')}>
            {t('storage.open')}
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
        {panel === 'settings' && <SettingsPanel onClose={() => setPanel(null)} />}
        {panel === 'storage' && <StoragePanel onClose={() => setPanel(null)} />}
      </div>
    </div>
  );
}
