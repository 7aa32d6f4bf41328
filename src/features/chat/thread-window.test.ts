import { describe, expect, it } from 'vitest';
import { showEarlier, showLater, TAIL_WINDOW, THREAD_PAGE, visibleRange, windowShowing } from './thread-window.ts';

describe('thread window', () => {
  it('renders a short thread whole and a long one by its end', () => {
    expect(visibleRange(TAIL_WINDOW, 10)).toEqual({ start: 0, end: 10 });
    expect(visibleRange(TAIL_WINDOW, 5000)).toEqual({ start: 5000 - THREAD_PAGE, end: 5000 });
    // New messages keep the tail in view.
    expect(visibleRange(TAIL_WINDOW, 5002)).toEqual({ start: 5002 - THREAD_PAGE, end: 5002 });
  });

  it('adds a page before on demand, never past the start', () => {
    const more = showEarlier(TAIL_WINDOW, 5000);
    expect(visibleRange(more, 5000)).toEqual({ start: 5000 - 2 * THREAD_PAGE, end: 5000 });
    expect(visibleRange(showEarlier(TAIL_WINDOW, 70), 70)).toEqual({ start: 0, end: 70 });
  });

  it('jumps to an old search hit with a little context, then leads back to the end page by page', () => {
    const atHit = windowShowing(TAIL_WINDOW, 5000, 10);
    expect(visibleRange(atHit, 5000)).toEqual({ start: 5, end: 5 + THREAD_PAGE });
    let window = atHit;
    let steps = 0;
    while (window.anchor !== 'tail') {
      window = showLater(window, 5000);
      steps++;
    }
    expect(steps).toBe(Math.ceil((5000 - 5 - THREAD_PAGE) / THREAD_PAGE));
    expect(visibleRange(window, 5000).end).toBe(5000);
    // Earlier from the hit keeps its end.
    expect(visibleRange(showEarlier(atHit, 5000), 5000)).toEqual({ start: 0, end: 5 + THREAD_PAGE });
  });

  it('extends the tail for a hit near the end, and leaves a rendered hit alone', () => {
    expect(visibleRange(windowShowing(TAIL_WINDOW, 5000, 4900), 5000)).toEqual({ start: 4895, end: 5000 });
    expect(windowShowing(TAIL_WINDOW, 5000, 4990)).toBe(TAIL_WINDOW);
  });

  it('keeps a window inside a thread that shrank (messages deleted by an edit elsewhere)', () => {
    expect(visibleRange({ anchor: 'at', start: 400, count: THREAD_PAGE }, 100)).toEqual({ start: 99, end: 100 });
  });
});
