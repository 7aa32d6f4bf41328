/**
 * The conversion stage: the app's in-browser conversion (store worker: Range reads of a Hub
 * safetensors checkpoint, quantization, LFS sha256 check, Dexie writes) timed against a plain
 * fetch of the same safetensors bytes from the same server, with the page's peak memory. The Hub
 * is the local mock Hub (src/testing/mock-hub.ts) serving the model's checkpoint folder; each
 * conversion starts from an empty store and its result is deleted after.
 */
import { readdirSync } from 'node:fs';
import type { BrowserContext } from '@playwright/test';
import type { ConversionSample } from '../../src/bench/bench-api.ts';
import { ratioOfMedians, summarize } from '../../src/bench/stats.ts';
import { startMockHub } from '../../src/testing/mock-hub.ts';
import { call, log, memorySummary, openPage, perSecond } from './bench-page.ts';
import type { BenchOptions, ModelRun } from './bench-types.ts';

const MiB = 2 ** 20;

export async function conversionStage(
  context: BrowserContext,
  serverUrl: string,
  checkpointDir: string,
  options: BenchOptions,
): Promise<NonNullable<ModelRun['conversion']>> {
  const repo = `bench/${options.model}`;
  log(`conversion: hashing ${checkpointDir} for the mock Hub`);
  const hub = await startMockHub({ repos: { [repo]: { dir: checkpointDir } } });
  try {
    const page = await openPage(context, serverUrl);
    const sources = readdirSync(checkpointDir)
      .filter((f) => f.endsWith('.safetensors'))
      .map((f) => `${hub.url}/${repo}/resolve/main/${f}`);
    const samples: ConversionSample[] = [];
    const plain: number[] = [];
    for (let r = 0; r < options.downloadReps; r++) {
      // Alternating, so neither side always runs on a warmer page cache.
      const fetchPlain = async () => {
        const p = await call(page, 'fetchFiles', sources);
        plain.push(perSecond(p.bytes, p.ms));
      };
      if (r % 2 === 0) await fetchPlain();
      const sample = await call(
        page,
        'convert',
        { key: `bench-convert:${options.model}`, label: `${options.model} (converted)`, repo, hubUrl: hub.url, dtype: options.dtype },
        { memorySampleMs: options.memorySampleMs },
      );
      if (r % 2 === 1) await fetchPlain();
      samples.push(sample);
      log(
        `conversion ${r + 1}/${options.downloadReps} to ${options.dtype}: ${(sample.ms / 1000).toFixed(1)} s, ${(perSecond(sample.sourceBytes, sample.ms) / MiB).toFixed(1)} MiB/s of checkpoint` +
          ` (plain fetch ${(plain.at(-1)! / MiB).toFixed(1)} MiB/s)${sample.memory ? `, peak memory ${(sample.memory.peakBytes / MiB).toFixed(0)} MiB` : ''}`,
      );
    }
    const speed = summarize(samples.map((s) => perSecond(s.sourceBytes, s.ms)));
    const plainSpeed = summarize(plain);
    const memory = memorySummary(samples.map((s) => s.memory));
    return {
      repo,
      dtype: options.dtype,
      sourceBytes: samples[0]?.sourceBytes ?? 0,
      storedBytes: samples[0]?.storedBytes ?? 0,
      ms: samples.map((s) => s.ms),
      bytesPerSecond: speed,
      plainFetchBytesPerSecond: plainSpeed,
      overPlainFetch: ratioOfMedians(speed, plainSpeed),
      peakBytes: memory.peakMemory ? memory.peakMemory.max : null,
      baselineBytes: memory.baselineMemory ? memory.baselineMemory.median : null,
      memoryMethod: memory.memoryMethod,
    };
  } finally {
    await hub.close();
  }
}
