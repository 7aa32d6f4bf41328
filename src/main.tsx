import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
// Tokens and base rules first: the shell's and the features' sheets (imported by their
// components) come after them in the bundle, so they win ties of equal specificity.
import './app/tokens.css';
import './app/base.css';
import { App } from './app/App.tsx';
import { applyTheme, readTheme } from './app/theme.ts';
import { initI18n } from './i18n/index.ts';

applyTheme(readTheme());
initI18n();
// Which build this page runs (support questions, and the update e2e test).
document.documentElement.dataset.build = __HANMADI_BUILD__;
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
