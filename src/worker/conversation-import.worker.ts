/** The conversation import worker's entry: export files read, checked and written here (conversation-import-host.ts). */
import type { ConversationImportRequest } from './protocol.ts';
import { createConversationImportHandler } from './conversation-import-host.ts';

const handle = createConversationImportHandler({ locks: navigator.locks }, (message) => self.postMessage(message));
self.addEventListener('message', (event: MessageEvent<ConversationImportRequest>) => void handle(event.data));
