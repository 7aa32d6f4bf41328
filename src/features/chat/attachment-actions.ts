/**
 * Attaching documents: reading files into attachments and counting the tokens each takes in the
 * prompt with the loaded model (two count-context answers: attachment-tokens.ts). A file that
 * cannot be attached becomes the chat's translated error, naming it; the others are kept.
 */
import { useAppStore } from '../../state/store.ts';
import { engineClient } from '../../worker/engine-client.ts';
import { AppError, type ErrorValue } from '../../lib/errors.ts';
import { userContentWithAttachments, type Attachment } from '../../model/attachments.ts';
import { attachmentTokens } from './attachment-tokens.ts';
import { readAttachment } from './read-attachment.ts';

/**
 * The tokens a document takes in the prompt with the loaded model's tokenizer and chat template
 * (a user turn holding only it, less an empty one); undefined without a loaded model.
 */
export async function countAttachmentTokens(attachment: Attachment): Promise<number | undefined> {
  const state = useAppStore.getState();
  if (!state.loaded || state.deviceLost) return undefined;
  const client = engineClient();
  try {
    const [withDocument, empty] = await Promise.all([
      client.countContext([{ role: 'user', content: userContentWithAttachments('', [attachment]) }], 1),
      client.countContext([{ role: 'user', content: '' }], 1),
    ]);
    return attachmentTokens(withDocument, empty);
  } catch {
    return undefined; // the worker is busy or gone: the chip shows no count
  }
}

/**
 * Reads files into attachments, each with its token count when a model is loaded. A file that
 * cannot be attached is reported (translated, naming it) and left out; the others are kept.
 */
export async function readAttachments(files: readonly File[]): Promise<Attachment[]> {
  const read: Attachment[] = [];
  for (const file of files) {
    try {
      const attachment = await readAttachment(file);
      const tokens = await countAttachmentTokens(attachment);
      read.push(tokens === undefined ? attachment : { ...attachment, tokens });
    } catch (error) {
      const value: ErrorValue =
        error instanceof AppError ? error.toValue() : { code: 'attachment-unreadable', detail: String(error), params: { name: file.name } };
      useAppStore.setState({ chatError: value });
    }
  }
  return read;
}

/** The attachments with their token counts under the model loaded now (none counted without one). */
export async function recountAttachments(attachments: readonly Attachment[]): Promise<Attachment[]> {
  return Promise.all(
    attachments.map(async ({ name, kind, size, text }) => {
      const attachment: Attachment = { name, kind, size, text };
      const tokens = await countAttachmentTokens(attachment);
      return tokens === undefined ? attachment : { ...attachment, tokens };
    }),
  );
}
