/**
 * Serves the conversation import worker's requests. An export file can be tens of MB and hundreds
 * of thousands of messages (or hostile): reading, parsing, checking and writing it all happen
 * here, off the page's thread, and the writes go in batches (src/db/conversation-import.ts) with
 * progress after each and Cancel between them.
 */
import { checkImportSize, IMPORT_LIMITS, parseExport, toNewRecords, type ImportLimits } from '../db/export-format.ts';
import { ImportCancelled, sweepAbandonedImports, writeImport } from '../db/conversation-import.ts';
import { newId } from '../db/conversations.ts';
import { storageErrorOf } from '../lib/errors.ts';
import type {
  ConversationImportMessage,
  ConversationImportProgress,
  ConversationImportRequest,
  ConversationImportResultMap,
  ImportOutcome,
} from './protocol.ts';

export interface ConversationImportDeps {
  locks: LockManager | null;
  now?: () => number;
  /** The app's limits unless a test gives smaller ones. */
  limits?: ImportLimits;
  batchSize?: number;
}

async function importFile(
  file: Blob,
  deps: ConversationImportDeps,
  signal: AbortSignal,
  report: (progress: ConversationImportProgress) => void,
): Promise<ImportOutcome> {
  const limits = deps.limits ?? IMPORT_LIMITS;
  const tooLarge = checkImportSize(file.size, limits);
  if (tooLarge) return { outcome: 'refused', problem: tooLarge };
  report({ phase: 'reading', writtenMessages: 0, totalMessages: 0 });
  let text: string;
  try {
    text = await file.text();
  } catch {
    return { outcome: 'refused', problem: { code: 'read-failed' } };
  }
  if (signal.aborted) return { outcome: 'cancelled' };
  report({ phase: 'checking', writtenMessages: 0, totalMessages: 0 });
  const parsed = parseExport(text, { limits });
  if (!parsed.ok) return { outcome: 'refused', problem: parsed.problem };
  // Times clamped to now: a date in the future would keep an import "most recent" for ever.
  const records = toNewRecords(parsed.conversations, newId, deps.now?.() ?? Date.now());
  const totalMessages = records.reduce((sum, r) => sum + r.messages.length, 0);
  report({ phase: 'writing', writtenMessages: 0, totalMessages });
  try {
    await writeImport(records, {
      signal,
      locks: deps.locks,
      ...(deps.batchSize ? { batchSize: deps.batchSize } : {}),
      onProgress: (writtenMessages) => report({ phase: 'writing', writtenMessages, totalMessages }),
    });
  } catch (error) {
    if (error instanceof ImportCancelled) return { outcome: 'cancelled' };
    return { outcome: 'refused', problem: { code: 'write-failed', detail: String(error) } };
  }
  return { outcome: 'imported', conversations: records.length, messages: totalMessages };
}

export function createConversationImportHandler(
  deps: ConversationImportDeps,
  post: (message: ConversationImportMessage) => void,
): (request: ConversationImportRequest) => Promise<void> {
  const running = new Map<string, AbortController>();

  const answer = async <K extends keyof ConversationImportResultMap>(request: K, id: string, task: () => Promise<ConversationImportResultMap[K]>) => {
    try {
      post({ type: 'result', id, request, result: await task() } as ConversationImportMessage);
    } catch (error) {
      post({ type: 'error', id, error: storageErrorOf(error).toValue() });
    }
  };

  return async (request) => {
    switch (request.type) {
      case 'import-conversations': {
        const controller = new AbortController();
        running.set(request.id, controller);
        const report = (progress: ConversationImportProgress) => post({ type: 'import-progress', id: request.id, progress });
        await answer('import-conversations', request.id, () => importFile(request.file, deps, controller.signal, report));
        running.delete(request.id);
        return;
      }
      case 'cancel-import': {
        const controller = running.get(request.target);
        controller?.abort();
        return answer('cancel-import', request.id, async () => ({ cancelled: controller !== undefined }));
      }
      case 'sweep-imports':
        return answer('sweep-imports', request.id, async () => ({ swept: await sweepAbandonedImports(deps.locks) }));
    }
  };
}
