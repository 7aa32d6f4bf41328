/**
 * Model output → safe HTML. The model's text is untrusted: it may hold HTML, script URLs or
 * anything a prompt injection planted. Three layers keep it inert:
 *  1. Raw HTML in the Markdown is never interpreted: marked's `html` renderer escapes it, so
 *     `<img onerror>` or `<script>` show as the text the model wrote.
 *  2. Images are never loaded (a remote image is a tracking beacon and would leave this device);
 *     they become ordinary links.
 *  3. Everything marked produces passes DOMPurify with an allow-list of the tags Markdown needs,
 *     no style or event attributes, and only http(s) and mailto URLs; links open in a new tab
 *     with rel="noopener noreferrer".
 *
 * Streaming: the text is split into top-level Markdown blocks and each block's HTML is cached by
 * its source, so a new token re-renders only the block it lands in (usually the last one), and
 * React leaves the DOM of the finished blocks alone (no flicker, selections there survive).
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import kotlin from 'highlight.js/lib/languages/kotlin';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Marked, type Tokens } from 'marked';

// A handful of common languages keeps the bundle small (the full set is ~1 MB); others show plain.
const LANGUAGES = { bash, c, cpp, css, diff, go, java, javascript, json, kotlin, markdown, python, rust, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);

export interface MarkdownLabels {
  /** The code block's copy button. */
  copyCode: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

/** A fence's language name, if it is a plain identifier (the info string is model-written). */
function languageOf(lang: string | undefined): string | null {
  const name = (lang ?? '').trim().split(/\s+/)[0].toLowerCase();
  return /^[a-z0-9#+.-]{1,32}$/.test(name) ? name : null;
}

function highlight(code: string, language: string | null): string {
  if (language && hljs.getLanguage(language)) return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  return escapeHtml(code);
}

function createMarked(labels: MarkdownLabels): Marked {
  return new Marked({
    async: false,
    gfm: true,
    // Chat replies use single line breaks as line breaks (lists of lines, poems, addresses).
    breaks: true,
    renderer: {
      html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
      image: ({ href, text }: Tokens.Image) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
      checkbox: ({ checked }: Tokens.Checkbox) => (checked ? '☑ ' : '☐ '),
      code: ({ text, lang }: Tokens.Code) => {
        const language = languageOf(lang);
        const name = language ? `<span class="code-lang">${escapeHtml(language)}</span>` : '<span class="code-lang"></span>';
        return (
          `<div class="code-block"><div class="code-header">${name}` +
          `<button type="button" class="code-copy">${escapeHtml(labels.copyCode)}</button></div>` +
          `<pre><code class="hljs${language ? ` language-${escapeHtml(language)}` : ''}">${highlight(text, language)}</code></pre></div>`
        );
      },
    },
  });
}

const purify = DOMPurify(window);
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

const PURIFY_CONFIG = {
  ALLOWED_TAGS: [
    'a',
    'blockquote',
    'br',
    'button',
    'code',
    'del',
    'div',
    'em',
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'hr',
    'li',
    'ol',
    'p',
    'pre',
    'span',
    'strong',
    'table',
    'tbody',
    'td',
    'th',
    'thead',
    'tr',
    'ul',
  ],
  ALLOWED_ATTR: ['href', 'title', 'class', 'type', 'align', 'start'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};

export function sanitizeHtml(html: string): string {
  return purify.sanitize(html, PURIFY_CONFIG);
}

/** Rendered blocks by source (and labels); bounded, oldest dropped first. */
const blockCache = new Map<string, string>();
const CACHE_LIMIT = 500;
let markedFor: { key: string; marked: Marked } | null = null;

/** The sanitized HTML of each top-level block of `text`. */
export function renderMarkdownBlocks(text: string, labels: MarkdownLabels): string[] {
  const labelsKey = JSON.stringify(labels);
  if (markedFor?.key !== labelsKey) markedFor = { key: labelsKey, marked: createMarked(labels) };
  const { marked } = markedFor;
  const tokens = marked.lexer(text);
  // Reference-style links resolve against definitions anywhere in the text; when those change,
  // every block's cache key changes with them.
  const context = `${labelsKey}\u0000${JSON.stringify(tokens.links)}\u0000`;
  const blocks: string[] = [];
  for (const token of tokens) {
    if (token.type === 'space' || token.type === 'def') continue;
    const key = context + token.raw;
    let html = blockCache.get(key);
    if (html === undefined) {
      html = sanitizeHtml(marked.parser([token]));
      if (blockCache.size >= CACHE_LIMIT) blockCache.delete(blockCache.keys().next().value!);
    } else {
      blockCache.delete(key); // re-inserted below: most recently used last
    }
    blockCache.set(key, html);
    blocks.push(html);
  }
  return blocks;
}
