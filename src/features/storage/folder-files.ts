/**
 * The files of a folder the user chose, with paths relative to that folder's parent (the first
 * segment is the folder's name), from either the directory picker (File System Access API:
 * Chromium) or an `<input webkitdirectory>` (every browser).
 */

export interface PickedFile {
  path: string;
  file: File;
}

/** From `<input webkitdirectory>`: each File carries webkitRelativePath ("folder/onnx/x.onnx"). */
export function filesFromInput(list: FileList | null): PickedFile[] {
  return Array.from(list ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** The parts of the File System Access API used here (not in TypeScript's DOM types yet). */
interface DirectoryHandle {
  kind: 'directory';
  name: string;
  values(): AsyncIterable<DirectoryHandle | { kind: 'file'; name: string; getFile(): Promise<File> }>;
}

type PickerWindow = Window & { showDirectoryPicker?: (options?: { mode?: 'read' }) => Promise<DirectoryHandle> };

export function hasDirectoryPicker(): boolean {
  return typeof (window as PickerWindow).showDirectoryPicker === 'function';
}

async function walk(handle: DirectoryHandle, prefix: string, out: PickedFile[]): Promise<void> {
  for await (const entry of handle.values()) {
    const path = `${prefix}/${entry.name}`;
    if (entry.kind === 'directory') await walk(entry, path, out);
    else out.push({ path, file: await entry.getFile() });
  }
}

/** Opens the directory picker; null when the user cancels it. */
export async function pickDirectory(): Promise<PickedFile[] | null> {
  let handle: DirectoryHandle;
  try {
    handle = await (window as PickerWindow).showDirectoryPicker!({ mode: 'read' });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') return null;
    throw error;
  }
  const files: PickedFile[] = [];
  await walk(handle, handle.name, files);
  return files;
}
