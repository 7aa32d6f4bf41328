/**
 * The app store: one zustand store composed of the features' slices (zustand's slices pattern).
 * Components select one value per selector; actions live in each feature's *-actions.ts and
 * update through `useAppStore.setState`.
 */
import { create } from 'zustand';
import { createChatSlice, type ChatSlice } from '../features/chat/chat-slice.ts';
import { createConversationsSlice, type ConversationsSlice } from '../features/conversations/conversations-slice.ts';
import { createModelsSlice, type ModelsSlice } from '../features/models/models-slice.ts';
import { createStorageSlice, type StorageSlice } from '../features/storage/storage-slice.ts';

export type AppState = ModelsSlice & ChatSlice & ConversationsSlice & StorageSlice;

export const useAppStore = create<AppState>()((...args) => ({
  ...createModelsSlice(...args),
  ...createChatSlice(...args),
  ...createConversationsSlice(...args),
  ...createStorageSlice(...args),
}));
