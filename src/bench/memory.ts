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

/** Runs `task` while sampling memory every `intervalMs` (one sample in flight at a time). */
export async function withMemoryPeak<T>(intervalMs: number, task: () => Promise<T>): Promise<{ value: T; memory: MemoryPeak | null }> {
  const found = intervalMs > 0 ? memoryMethod() : null;
  if (!found) return { value: await task(), memory: null };
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
  try {
    const value = await task();
    return { value, memory: { method: found.method, peakBytes, baselineBytes, samples } };
  } finally {
    running = false;
    await sampler;
  }
}
