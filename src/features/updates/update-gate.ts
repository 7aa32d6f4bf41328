/**
 * When a new version may take over. Reloading the page ends the reply being generated and the
 * model being loaded, so an accepted update (or a takeover started in another tab) waits until
 * neither is running.
 */
import type { AppState } from '../../app/store.ts';

export type BusyState = Pick<AppState, 'generation' | 'loadStatus'>;

export function appBusy(state: BusyState): boolean {
  return state.generation !== null || state.loadStatus === 'loading';
}

/** How often an open tab asks the host for a new version (the browser also checks on every navigation). */
export const UPDATE_CHECK_MS = 60 * 60 * 1000;
