/** The main-thread facade of the conversation import worker, started on first use. */
import type { ConversationImportMessage, ConversationImportProgress, ConversationImportRequest, ConversationImportResultMap } from './protocol.ts';
import { RpcClient } from './rpc-client.ts';

export class ConversationImportClient extends RpcClient<ConversationImportRequest, ConversationImportMessage> {
  static create(): ConversationImportClient {
    return new ConversationImportClient(new Worker(new URL('./conversation-import.worker.ts', import.meta.url), { type: 'module', name: 'hanmadi-import' }));
  }

  /** Imports `file` as request `id` (Cancel names it); resolves with the outcome. */
  importConversations(
    file: Blob,
    id: string,
    onProgress: (progress: ConversationImportProgress) => void,
  ): Promise<ConversationImportResultMap['import-conversations']> {
    return this.send({ type: 'import-conversations', id, file }, (message) => {
      if (message.type === 'import-progress') onProgress(message.progress);
    });
  }

  cancel(target: string): Promise<ConversationImportResultMap['cancel-import']> {
    return this.send({ type: 'cancel-import', id: crypto.randomUUID(), target });
  }

  sweepAbandoned(): Promise<ConversationImportResultMap['sweep-imports']> {
    return this.send({ type: 'sweep-imports', id: crypto.randomUUID() });
  }
}

let sharedClient: ConversationImportClient | null = null;

export function conversationImportClient(): ConversationImportClient {
  sharedClient ??= ConversationImportClient.create();
  return sharedClient;
}
