/**
 * A Web Lock per stored model, so one tab cannot delete a model while another downloads or loads
 * it: downloads and loads hold it shared, a deletion needs it exclusive and is refused at once
 * (not queued) when another holder exists. Without the Web Locks API (Node tests) nothing is held.
 */
import { AppError } from '../lib/errors.ts';

const lockName = (modelKey: string) => `hanmadi:model:${modelKey}`;

function locks(): LockManager | null {
  return (globalThis.navigator as Navigator | undefined)?.locks ?? null;
}

/** Holds the model's lock (shared) until the returned release function is called. */
export async function holdModelShared(modelKey: string): Promise<() => void> {
  const manager = locks();
  if (!manager) return () => {};
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await new Promise<void>((granted) => {
    void manager.request(lockName(modelKey), { mode: 'shared' }, () => {
      granted();
      return held;
    });
  });
  return release;
}

/** Runs `task` with the model's lock held exclusively, or throws 'storage-busy' if another tab holds it. */
export async function withModelExclusive<T>(modelKey: string, task: () => Promise<T>): Promise<T> {
  const manager = locks();
  if (!manager) return task();
  const BUSY = Symbol('busy');
  const result = await manager.request(lockName(modelKey), { mode: 'exclusive', ifAvailable: true }, async (lock) => (lock ? task() : BUSY));
  if (result === BUSY) throw new AppError('storage-busy', `${modelKey} is being downloaded or loaded in another tab.`);
  return result as T;
}
