/**
 * When a new version may take over. Reloading the page ends the reply being generated, the model
 * being downloaded or loaded and a folder being imported, so an accepted update (or a takeover
 * started in another tab) waits until none is running. A paused download is not running: it
 * resumes from its stored chunks after the reload.
 */
import type { AppState } from '../../state/store.ts';

export type BusyState = Pick<AppState, 'generation' | 'loadStatus' | 'importProgress'>;

export function appBusy(state: BusyState): boolean {
  return state.generation !== null || state.loadStatus === 'loading' || state.importProgress !== null;
}

/** How often an open tab asks the host for a new version (the browser also checks on every navigation). */
export const UPDATE_CHECK_MS = 60 * 60 * 1000;
