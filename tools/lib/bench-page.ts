/** Driving the bench page (src/bench/) from Node: its API, the model's files, step summaries and failure capture. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, type Page } from '@playwright/test';
import type { BenchApi, MemoryPeak } from '../../src/bench/bench-api.ts';
import { summarize } from '../../src/bench/stats.ts';
import type { ModelDtype } from '../../src/model/catalog.ts';
import { type HfLlamaConfig } from '../../src/model/config.ts';
import { graphFiles, OPTIONAL_SHARED_FILES, REQUIRED_SHARED_FILES } from '../../src/model/model-files.ts';
import type { LoadPhasesMs } from '../../src/worker/protocol.ts';
import { type BenchPaths } from './bench-server.ts';
import { PromptBuilder, type BenchPrompt } from './bench-prompts.ts';
import type { LoadSamples } from './bench-types.ts';

export const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

type Method = keyof BenchApi;

/** Calls the page's bench API (a step can take many minutes on SwiftShader: no Playwright timeout applies to evaluate). */
export async function call<M extends Method>(page: Page, method: M, ...args: Parameters<BenchApi[M]>): Promise<Awaited<ReturnType<BenchApi[M]>>> {
  return page.evaluate(
    async ([m, a]) => {
      const api = window.hanmadiBench;
      if (!api) throw new Error('The bench page is not ready.');
      return (api[m] as (...x: unknown[]) => Promise<unknown>)(...a);
    },
    [method, args] as [M, unknown[]],
  ) as Promise<Awaited<ReturnType<BenchApi[M]>>>;
}

const watched = new WeakSet<Page>();

export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  if (!watched.has(page)) {
    watched.add(page);
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
  }
  await page.goto(`${url}/bench.html`);
  await page.waitForFunction(() => window.hanmadiBench !== undefined);
  return page;
}

export function modelFiles(paths: BenchPaths, model: string, dtype: ModelDtype) {
  const dir = join(paths.models, model);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as HfLlamaConfig;
  const graph = graphFiles(config, dtype);
  const files = [...REQUIRED_SHARED_FILES, ...OPTIONAL_SHARED_FILES, ...graph];
  const size = (f: string) => statSync(join(dir, f)).size;
  return { config, files, bytes: files.reduce((s, f) => s + size(f), 0), graphBytes: graph.reduce((s, f) => s + size(f), 0) };
}

export const perSecond = (bytes: number, ms: number) => (bytes * 1000) / ms;
export const memorySummary = (samples: (MemoryPeak | null)[]) => ({
  peakMemory: summarize(samples.flatMap((m) => (m ? [m.peakBytes] : []))),
  baselineMemory: summarize(samples.flatMap((m) => (m ? [m.baselineBytes] : []))),
  memoryMethod: samples.find((m) => m)?.method ?? null,
});

/** The load figures of a set of samples: times, their summary and the memory peaks. */
export const loadSummary = (samples: { ms: number; memory: MemoryPeak | null; phasesMs?: LoadPhasesMs }[]): LoadSamples => ({
  ms: samples.map((s) => s.ms),
  ...(samples.every((s) => s.phasesMs) && samples.length ? { phasesMs: samples.map((s) => s.phasesMs!) } : {}),
  summary: summarize(samples.map((s) => s.ms)),
  ...memorySummary(samples.map((s) => s.memory)),
});

/** Runs `step`; a failure is recorded under `name` instead of ending the run. */
export async function stage(errors: Record<string, string>, name: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    errors[name] = error instanceof Error ? error.message.split('\n')[0] : String(error);
    log(`${name} failed: ${errors[name]}`);
  }
}

/** The prompts of a run, built once and shared by our devices and the peer. */
export interface Prompts {
  prefillPrompts: BenchPrompt[];
  decodePrompt: BenchPrompt;
  historyPrompt: BenchPrompt | null;
  prompts: PromptBuilder;
}
