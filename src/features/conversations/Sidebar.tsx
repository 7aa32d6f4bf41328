/**
 * The conversation sidebar: New chat, search across every message, the list by last activity
 * (open, rename, export, delete with undo), and import / export of everything. On narrow screens
 * it is a drawer over the chat (Esc or the backdrop closes it).
 */
import './conversations.css';
import { useLiveQuery } from 'dexie-react-hooks';
import { useDeferredValue, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../../state/store.ts';
import type { ConversationRecord } from '../../db/app-db.ts';
import { listConversations } from '../../db/conversations.ts';
import { searchConversations } from '../../db/search.ts';
import { formatDateTime, formatShortDate } from '../../i18n/format.ts';
import {
  deleteWithUndo,
  exportConversations,
  importFile,
  newConversation,
  openConversation,
  renameConversation,
  setSidebarOpen,
  type ExportFormat,
} from './conversation-actions.ts';
import { NARROW_QUERY } from '../../state/conversations-slice.ts';
import { useNarrowScreen } from '../../state/narrow-screen.ts';
import { TransferNotice, UndoToast } from './Toasts.tsx';

/** Labels for Markdown exports, in the UI language. */
function useExportLabels() {
  const { t, i18n } = useTranslation();
  return () => ({
    untitled: t('conversations.untitled'),
    systemPrompt: t('settings.systemPrompt'),
    attached: t('conversations.attached'),
    you: t('chat.you'),
    assistant: t('chat.assistant'),
    exported: t('conversations.exportedAt', { date: formatDateTime(Date.now(), i18n.language) }),
  });
}

const focusById = (id: string) => requestAnimationFrame(() => document.getElementById(id)?.focus());

function RenameForm({ conversation, onDone }: { conversation: ConversationRecord; onDone(): void }) {
  const { t } = useTranslation();
  const [title, setTitle] = useState(conversation.title);
  const finished = useRef(false);
  const finish = (save: boolean) => {
    if (finished.current) return;
    finished.current = true;
    if (save) void renameConversation(conversation.id, title);
    onDone();
  };
  return (
    <form
      className="rename-form"
      onSubmit={(event) => {
        event.preventDefault();
        finish(true);
      }}
    >
      <input
        aria-label={t('conversations.titleField')}
        value={title}
        maxLength={200}
        autoFocus
        onFocus={(e) => e.currentTarget.select()}
        onChange={(e) => setTitle(e.target.value)}
        onBlur={() => finish(true)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            finish(false);
          }
        }}
      />
    </form>
  );
}

function ConversationRow({
  conversation,
  active,
  menuOpen,
  onMenu,
}: {
  conversation: ConversationRecord;
  active: boolean;
  menuOpen: boolean;
  onMenu(open: boolean): void;
}) {
  const { t, i18n } = useTranslation();
  const [renaming, setRenaming] = useState(false);
  const generatingHere = useAppStore((s) => s.generation?.conversationId === conversation.id);
  const exportLabels = useExportLabels();
  const title = conversation.title || t('conversations.untitled');
  const openId = `conversation-${conversation.id}`;
  const menuId = `conversation-menu-${conversation.id}`;
  const toggleId = `conversation-more-${conversation.id}`;

  const closeMenu = () => {
    onMenu(false);
    focusById(toggleId);
  };
  const exportAs = (format: ExportFormat) => {
    onMenu(false);
    void exportConversations(conversation.id, format, exportLabels());
  };

  return (
    <li className={active ? 'conversation active' : 'conversation'}>
      <div className="conversation-row">
        {renaming ? (
          <RenameForm
            conversation={conversation}
            onDone={() => {
              setRenaming(false);
              focusById(openId);
            }}
          />
        ) : (
          <button
            type="button"
            id={openId}
            className="conversation-open"
            aria-current={active ? 'page' : undefined}
            onClick={() => void openConversation(conversation.id)}
          >
            <span className="conversation-title">{title}</span>
            <time
              className="conversation-time"
              dateTime={new Date(conversation.updatedAt).toISOString()}
              title={formatDateTime(conversation.updatedAt, i18n.language)}
            >
              {formatShortDate(conversation.updatedAt, i18n.language)}
            </time>
          </button>
        )}
        <button
          type="button"
          id={toggleId}
          className="icon conversation-more"
          aria-label={t('conversations.actionsFor', { title })}
          aria-expanded={menuOpen}
          aria-controls={menuId}
          onClick={() => onMenu(!menuOpen)}
        >
          ⋯
        </button>
      </div>
      {menuOpen && (
        <div
          id={menuId}
          className="conversation-menu"
          role="group"
          aria-label={t('conversations.actionsFor', { title })}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              closeMenu();
            }
          }}
        >
          <button
            type="button"
            className="ghost"
            autoFocus
            onClick={() => {
              onMenu(false);
              setRenaming(true);
            }}
          >
            {t('conversations.rename')}
          </button>
          <button type="button" className="ghost" onClick={() => exportAs('json')}>
            {t('conversations.exportJson')}
          </button>
          <button type="button" className="ghost" onClick={() => exportAs('markdown')}>
            {t('conversations.exportMarkdown')}
          </button>
          <button
            type="button"
            className="ghost danger"
            disabled={generatingHere}
            title={generatingHere ? t('conversations.deleteWhileGenerating') : undefined}
            onClick={() => {
              onMenu(false);
              void deleteWithUndo(conversation.id);
            }}
          >
            {t('conversations.delete')}
          </button>
        </div>
      )}
    </li>
  );
}

function ConversationList() {
  const { t } = useTranslation();
  const conversations = useLiveQuery(listConversations, []);
  const activeId = useAppStore((s) => s.activeConversationId);
  const [menuFor, setMenuFor] = useState<string | null>(null);
  if (!conversations) return null;
  return (
    <ul className="conversation-list" aria-label={t('conversations.list')}>
      {conversations.map((conversation) => (
        <ConversationRow
          key={conversation.id}
          conversation={conversation}
          active={conversation.id === activeId}
          menuOpen={menuFor === conversation.id}
          onMenu={(open) => setMenuFor(open ? conversation.id : null)}
        />
      ))}
    </ul>
  );
}

function SearchResults({ query }: { query: string }) {
  const { t, i18n } = useTranslation();
  const hits = useLiveQuery(() => searchConversations(query), [query]);
  if (!hits) return null;
  return (
    <>
      <p className="search-count" role="status">
        {hits.length === 0 ? t('conversations.noResults') : t('conversations.results', { count: hits.length })}
      </p>
      <ul className="conversation-list search-results" aria-label={t('conversations.searchResults')}>
        {hits.map(({ conversation, message, attachmentName, snippet }) => (
          <li key={conversation.id} className="conversation">
            <button type="button" className="conversation-open search-hit" onClick={() => void openConversation(conversation.id, message?.id)}>
              <span className="conversation-title">{conversation.title || t('conversations.untitled')}</span>
              <span className="conversation-time">{formatShortDate(conversation.updatedAt, i18n.language)}</span>
              <span className="snippet">
                {attachmentName !== undefined && t('conversations.inDocument', { name: attachmentName })}
                {snippet.before}
                <mark>{snippet.match}</mark>
                {snippet.after}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}

function TransferButtons() {
  const { t } = useTranslation();
  const fileInput = useRef<HTMLInputElement>(null);
  const exportLabels = useExportLabels();
  // One import at a time: the one under way shows its progress and Cancel.
  const importing = useAppStore((s) => s.transferNotice?.kind === 'importing');
  return (
    <div className="sidebar-footer">
      <button type="button" className="ghost" disabled={importing} onClick={() => fileInput.current?.click()}>
        {t('conversations.import')}
      </button>
      <input
        ref={fileInput}
        type="file"
        accept=".json,application/json"
        hidden
        onChange={(event) => {
          const file = event.target.files?.[0];
          event.target.value = ''; // the same file can be chosen again
          if (file) void importFile(file);
        }}
      />
      <button type="button" className="ghost" onClick={() => void exportConversations('all', 'json', exportLabels())}>
        {t('conversations.exportAllJson')}
      </button>
      <button type="button" className="ghost" onClick={() => void exportConversations('all', 'markdown', exportLabels())}>
        {t('conversations.exportAllMarkdown')}
      </button>
    </div>
  );
}

export function Sidebar() {
  const { t } = useTranslation();
  const open = useAppStore((s) => s.sidebarOpen);
  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query.trim());

  // Opening the drawer on a narrow screen puts the keyboard in it.
  useEffect(() => {
    if (open && matchMedia(NARROW_QUERY).matches) focusById('conversation-search');
  }, [open]);

  if (!open) return null;

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || event.defaultPrevented) return;
    if (event.target instanceof HTMLInputElement && event.target.type === 'search' && query) {
      event.preventDefault();
      setQuery('');
    } else if (matchMedia(NARROW_QUERY).matches) {
      event.preventDefault();
      setSidebarOpen(false);
      focusById('sidebar-toggle');
    }
  };

  return (
    <>
      <div className="sidebar-backdrop" aria-hidden="true" onClick={() => setSidebarOpen(false)} />
      <nav id="sidebar" className="sidebar" aria-label={t('conversations.title')} onKeyDown={onKeyDown}>
        <button type="button" className="new-chat" onClick={() => void newConversation()}>
          {t('conversations.new')}
        </button>
        <div role="search" className="sidebar-search">
          <input
            id="conversation-search"
            type="search"
            aria-label={t('conversations.search')}
            placeholder={t('conversations.searchPlaceholder')}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
        <div className="sidebar-scroll">{deferredQuery ? <SearchResults query={deferredQuery} /> : <ConversationList />}</div>
        <TransferNotice />
        <UndoToast />
        <TransferButtons />
      </nav>
    </>
  );
}

/**
 * True while the sidebar is a drawer covering the chat (open, on a narrow screen): the shell
 * makes what is behind it inert, so the keyboard cannot wander under the backdrop.
 */
export function useDrawerCovers(): boolean {
  const open = useAppStore((s) => s.sidebarOpen);
  const narrow = useNarrowScreen();
  return open && narrow;
}

/** The header button that shows or hides the sidebar. */
export function SidebarToggle() {
  const { t } = useTranslation();
  const open = useAppStore((s) => s.sidebarOpen);
  return (
    <button
      type="button"
      id="sidebar-toggle"
      className="ghost sidebar-toggle"
      aria-expanded={open}
      aria-controls={open ? 'sidebar' : undefined}
      onClick={() => setSidebarOpen(!open)}
    >
      {t('conversations.toggle')}
    </button>
  );
}
