/**
 * Peak memory while a step runs, sampled from the page. In a cross-origin-isolated page
 * `performance.measureUserAgentSpecificMemory()` covers the page AND its dedicated workers (where
 * the model is loaded), ArrayBuffers included; Chromium answers at once with
 * --enable-blink-features=ForceEagerMeasureMemory (the driver passes it), else at the next GC.
 * Otherwise `performance.memory.usedJSHeapSize` (the page's own JS heap only) is the fallback.
 * GPU buffers are never part of either.
 */
import type { MemoryMethod, MemoryPeak } from './bench-api.ts';

type Measure = () => Promise<number>;

interface UaMemory {
  measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }>;
  memory?: { usedJSHeapSize: number };
}

export function memoryMethod(): { method: MemoryMethod; measure: Measure } | null {
  const perf = performance as Performance & UaMemory;
  if (crossOriginIsolated && typeof perf.measureUserAgentSpecificMemory === 'function') {
    const measureUa = perf.measureUserAgentSpecificMemory.bind(perf);
    return { method: 'measureUserAgentSpecificMemory', measure: async () => (await measureUa()).bytes };
  }
  if (perf.memory) return { method: 'performance.memory', measure: async () => perf.memory!.usedJSHeapSize };
  return null;
}

/**
 * How long the end of a step waits for a sample still in flight. Chromium's
 * measureUserAgentSpecificMemory can take a minute to answer once a dedicated worker has ended
 * (measured: ~60 s after each engine worker's termination, whatever the step); such a sample is
 * dropped rather than waited for.
 */
const LAST_SAMPLE_WAIT_MS = 1_000;

/**
 * How long to let an ended worker tear down before memory is measured again. A measurement that
 * reaches a worker while it is being terminated is answered only at Chromium's 60 s timeout, and
 * every later one queues behind it (measured: a worker holding 1 GB, measured at once after
 * terminate(), 60.0 s; 100 ms later, 15 ms). No event says a worker's teardown has ended, so the
 * bench waits this long after each engine or peer worker it ends: without it, every load after the
 * first paid a minute.
 */
const WORKER_TEARDOWN_MS = 1_000;

/** Waits out an ended worker's teardown (see WORKER_TEARDOWN_MS) where memory is measured. */
export async function settleAfterWorkerEnd(): Promise<void> {
  if (memoryMethod()?.method !== 'measureUserAgentSpecificMemory') return;
  await new Promise((resolve) => setTimeout(resolve, WORKER_TEARDOWN_MS));
}

/**
 * Runs `task` while sampling memory every `intervalMs` (one sample in flight at a time); `ms` times
 * the task alone, never the measurements around it.
 */
export async function withMemoryPeak<T>(intervalMs: number, task: () => Promise<T>): Promise<{ value: T; ms: number; memory: MemoryPeak | null }> {
  const found = intervalMs > 0 ? memoryMethod() : null;
  if (!found) {
    const started = performance.now();
    const value = await task();
    return { value, ms: performance.now() - started, memory: null };
  }
  const baselineBytes = await found.measure();
  let peakBytes = baselineBytes;
  let samples = 1;
  let running = true;
  const sampler = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (!running) break;
      try {
        peakBytes = Math.max(peakBytes, await found.measure());
        samples++;
      } catch {
        break; // a measurement refused mid-run (e.g. the page navigates): keep what we have
      }
    }
  })();
  const started = performance.now();
  try {
    const value = await task();
    const ms = performance.now() - started;
    return { value, ms, memory: { method: found.method, peakBytes, baselineBytes, samples } };
  } finally {
    running = false;
    await Promise.race([sampler, new Promise((resolve) => setTimeout(resolve, LAST_SAMPLE_WAIT_MS))]);
  }
}
