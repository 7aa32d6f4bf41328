/** The store worker's entry: downloads, imports and deletions of stored models (store-host.ts). */
import { modelStore } from '../db/model-store.ts';
import type { StoreRequest } from './protocol.ts';
import { createStoreHandler } from './store-host.ts';

const handle = createStoreHandler(
  {
    store: modelStore,
    locks: navigator.locks,
    estimate: () => (navigator.storage?.estimate ? navigator.storage.estimate() : Promise.resolve(null)),
  },
  (message) => self.postMessage(message),
);
self.addEventListener('message', (event: MessageEvent<StoreRequest>) => handle(event.data));
