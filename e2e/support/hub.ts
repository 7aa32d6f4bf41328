/** Points the app's Hub URL setting (localStorage, set before any page script runs) at a mock Hub: every hf source is then read from it. */
import type { BrowserContext, Page } from '@playwright/test';
import { HUB_URL_STORAGE_KEY } from '../../src/features/models/hub-url.ts';

export async function useMockHub(target: BrowserContext | Page, hubUrl: string): Promise<void> {
  await target.addInitScript(([key, url]) => localStorage.setItem(key, url), [HUB_URL_STORAGE_KEY, hubUrl]);
}
