/**
 * Yielding to the worker's event loop between forward passes. ONNX Runtime's WASM backend settles
 * a run in microtasks only, so without a task in between the worker would never receive `stop`
 * during a reply (WebGPU yields on its own while it waits for the GPU).
 */
let taskChannel: { port: MessagePort; waiting: (() => void)[] } | null = null;

/** Resolves in a new task (a MessageChannel, unlike setTimeout, has no 4 ms clamp when nested). */
export function nextTask(): Promise<void> {
  if (!taskChannel) {
    const channel = new MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    taskChannel = { port: channel.port2, waiting };
  }
  const { port, waiting } = taskChannel;
  return new Promise((resolve) => {
    waiting.push(resolve);
    port.postMessage(null);
  });
}
