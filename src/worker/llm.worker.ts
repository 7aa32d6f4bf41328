/** The LLM worker's entry: configures transformers.js, then serves the protocol. */
import { LlmEngine } from './engine.ts';
import type { WorkerRequest } from './protocol.ts';
import { configureTransformers } from './transformers-env.ts';
import { createRequestHandler } from './worker-host.ts';

configureTransformers();
const handle = createRequestHandler(new LlmEngine(), (message) => self.postMessage(message));
self.addEventListener('message', (event: MessageEvent<WorkerRequest>) => handle(event.data));
