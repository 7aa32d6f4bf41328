/**
 * Whether the screen is narrow (a phone): the sidebar is then a drawer and the header keeps only
 * what the chat needs in sight. One media query for the whole UI, read live as it changes.
 */
import { useSyncExternalStore } from 'react';
import { NARROW_QUERY } from './conversations-slice.ts';

function subscribeNarrow(onChange: () => void): () => void {
  const query = matchMedia(NARROW_QUERY);
  query.addEventListener('change', onChange);
  return () => query.removeEventListener('change', onChange);
}

export function useNarrowScreen(): boolean {
  return useSyncExternalStore(subscribeNarrow, () => matchMedia(NARROW_QUERY).matches);
}
