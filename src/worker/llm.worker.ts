/**
 * The LLM worker's entry: installs ONNX Runtime (the JSPI or asyncify build, ort-runtime.ts)
 * before anything loads transformers.js, configures transformers.js, then serves the protocol.
 * Requests that arrive while that happens wait in order.
 */
import { installOrtRuntime } from './ort-runtime.ts';
import type { WorkerRequest } from './protocol.ts';

const waiting: WorkerRequest[] = [];
let handle: ((request: WorkerRequest) => void) | null = null;
self.addEventListener('message', (event: MessageEvent<WorkerRequest>) => (handle ? handle(event.data) : waiting.push(event.data)));

await installOrtRuntime();
const [{ LlmEngine }, { configureTransformers }, { createRequestHandler }] = await Promise.all([
  import('./engine.ts'),
  import('./transformers-env.ts'),
  import('./worker-host.ts'),
]);
configureTransformers();
handle = createRequestHandler(new LlmEngine(), (message) => self.postMessage(message));
for (const request of waiting.splice(0)) handle(request);
