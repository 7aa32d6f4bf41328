/**
 * The app store: one zustand store composed of slices (zustand's slices pattern), each named for
 * the feature that writes it. It sits below the features because they read one another's state
 * (the loaded model, the reply being written, the open conversation): a slice owned by one
 * feature and read by another would be a feature→feature import. Components select one value
 * per selector; actions live in each feature's *-actions.ts and update through
 * `useAppStore.setState`.
 */
import { create } from 'zustand';
import { createChatSlice, type ChatSlice } from './chat-slice.ts';
import { createConversationsSlice, type ConversationsSlice } from './conversations-slice.ts';
import { createModelsSlice, type ModelsSlice } from './models-slice.ts';
import { createStorageSlice, type StorageSlice } from './storage-slice.ts';

export type AppState = ModelsSlice & ChatSlice & ConversationsSlice & StorageSlice;

export const useAppStore = create<AppState>()((...args) => ({
  ...createModelsSlice(...args),
  ...createChatSlice(...args),
  ...createConversationsSlice(...args),
  ...createStorageSlice(...args),
}));
