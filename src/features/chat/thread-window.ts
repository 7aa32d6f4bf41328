/**
 * Which part of a long thread is rendered. A thread renders its last messages and more on demand,
 * so a 5,000-message conversation (an import, or years of chat) opens as fast as a short one:
 * every rendered message is a Markdown render and a few dozen DOM nodes. A search hit older than
 * the rendered part moves the window to it; "Show later" then leads back to the end.
 */

/** Messages rendered at first, and added by each "Show earlier". */
export const THREAD_PAGE = 60;
/** Messages kept rendered before a search hit, for context. */
const BEFORE_FOCUS = 5;

/** 'tail': the last `count` messages (follows new ones); 'at': `count` messages from index `start`. */
export type ThreadWindow = { anchor: 'tail'; count: number } | { anchor: 'at'; start: number; count: number };

export const TAIL_WINDOW: ThreadWindow = { anchor: 'tail', count: THREAD_PAGE };

/** The rendered range [start, end) of a thread of `length` messages. */
export function visibleRange(window: ThreadWindow, length: number): { start: number; end: number } {
  if (window.anchor === 'tail') return { start: Math.max(0, length - window.count), end: length };
  const start = Math.min(Math.max(0, window.start), Math.max(0, length - 1));
  return { start, end: Math.min(length, start + window.count) };
}

/** One page more before the rendered part. */
export function showEarlier(window: ThreadWindow, length: number): ThreadWindow {
  if (window.anchor === 'tail') return { anchor: 'tail', count: Math.min(length, window.count + THREAD_PAGE) };
  const { start, end } = visibleRange(window, length);
  const earlier = Math.max(0, start - THREAD_PAGE);
  return { anchor: 'at', start: earlier, count: end - earlier };
}

/** One page more after the rendered part; reaching the end follows the thread's end again. */
export function showLater(window: ThreadWindow, length: number): ThreadWindow {
  if (window.anchor === 'tail') return window;
  const { start, end } = visibleRange(window, length);
  const later = Math.min(length, end + THREAD_PAGE);
  return later >= length ? { anchor: 'tail', count: length - start } : { anchor: 'at', start, count: later - start };
}

/** The window that shows message `index` (a search hit): unchanged when it is rendered already. */
export function windowShowing(window: ThreadWindow, length: number, index: number): ThreadWindow {
  const { start, end } = visibleRange(window, length);
  if (index >= start && index < end) return window;
  const from = Math.max(0, index - BEFORE_FOCUS);
  // Close enough to the end: extend the tail rather than cut the thread in two.
  if (length - from <= window.count + THREAD_PAGE) return { anchor: 'tail', count: length - from };
  return { anchor: 'at', start: from, count: THREAD_PAGE };
}
