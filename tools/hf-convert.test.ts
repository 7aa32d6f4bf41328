/**
 * Converting a Hugging Face repo over HTTP, as the browser will, against a local mock Hub serving
 * the synthetic fixtures in Hugging Face layout (LFS files redirected to a CDN path, as the Hub
 * does): the output is byte-identical to the Node CLI's conversion of the same folder, each
 * tensor's bytes are fetched once, a network cut mid-conversion resumes without refetching a
 * finished tensor, the size estimate matches what is stored, and every failure has its code.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockHub, type HubRequest, type MockHub } from '../src/testing/mock-hub.ts';
import { convertCheckpoint, graphFileName, planConversion, type ConversionState, type ConvertDtype } from '../src/converter/convert.ts';
import { estimateConversionSize, hfCheckpointReader, HfHubError, resolveHfCheckpoint, type HfHubOptions } from '../src/converter/hf-hub.ts';
import { MemoryModelWriter } from '../src/converter/memory-io.ts';
import { HEADER_PREFIX_BYTES, readSafetensorsHeader } from '../src/converter/safetensors.ts';
import { computeRopeParameters } from '../src/model/yarn.ts';
import { writeSyntheticCheckpoint } from './lib/checkpoint.ts';
import { FIXTURES } from '../src/testing/fixture-specs.ts';
import { directoryReader } from '../src/converter/node-io.ts';

const root = mkdtempSync(join(tmpdir(), 'hanmadi-hf-'));
const dirs = { single: join(root, 'single'), sharded: join(root, 'sharded'), mistral: join(root, 'mistral'), pytorch: join(root, 'pytorch') };
const TOKEN = 'hf_test_token';
const HEADER_WINDOW = HEADER_PREFIX_BYTES;

let hub: MockHub;
let hubOptions: HfHubOptions;

beforeAll(async () => {
  writeSyntheticCheckpoint(dirs.single, FIXTURES['tiny-llama']); // one bf16 file, tied head
  writeSyntheticCheckpoint(dirs.sharded, FIXTURES['tiny-llama-yarn']); // two fp16 shards + index, untied, YaRN
  for (const [dir, config] of [
    [dirs.mistral, { ...FIXTURES['tiny-llama'].config, model_type: 'mistral', architectures: ['MistralForCausalLM'] }],
    [dirs.pytorch, FIXTURES['tiny-llama'].config],
  ] as const) {
    cpSync(dirs.single, dir, { recursive: true, filter: (src) => !src.endsWith('.safetensors') });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  }
  writeFileSync(join(dirs.pytorch, 'pytorch_model.bin'), new Uint8Array(1024));
  hub = await startMockHub({
    repos: {
      'kakaocorp/tiny-llama': { dir: dirs.single },
      'kakaocorp/tiny-llama-sharded': { dir: dirs.sharded },
      'gated/tiny-llama': { dir: dirs.single, gated: 'manual' },
      'other/tiny-mistral': { dir: dirs.mistral },
      'other/pytorch-only': { dir: dirs.pytorch },
    },
    tokens: [TOKEN],
    redirectLfs: true,
  });
  hubOptions = { host: hub.url, retryDelayMs: 1, maxAttempts: 3 };
});
afterAll(() => hub?.close());
beforeEach(() => {
  hub.log.length = 0;
  hub.setNetworkDown(false);
  hub.setIgnoreRange(false);
});

const cliConversions = new Map<string, Promise<Map<string, Uint8Array>>>();
/** The Node CLI's conversion (directory reader), once per folder and dtypes. */
function cliConversion(dir: string, dtypes: ConvertDtype[]): Promise<Map<string, Uint8Array>> {
  const key = `${dir}:${dtypes.join()}`;
  if (!cliConversions.has(key)) {
    const writer = new MemoryModelWriter();
    cliConversions.set(
      key,
      convertCheckpoint(directoryReader(dir), writer, { dtypes }).then(() => new Map(writer.paths().map((p) => [p, writer.get(p)!]))),
    );
  }
  return cliConversions.get(key)!;
}

function expectSameFiles(writer: MemoryModelWriter, expected: Map<string, Uint8Array>): void {
  expect(writer.paths()).toEqual([...expected.keys()]);
  for (const [path, bytes] of expected) expect(Buffer.from(writer.get(path)!).equals(Buffer.from(bytes)), path).toBe(true);
}

/** Every tensor's absolute byte range in the checkpoint's safetensors files. */
async function tensorRanges(dir: string): Promise<{ file: string; name: string; begin: number; end: number }[]> {
  const reader = directoryReader(dir);
  const ranges: { file: string; name: string; begin: number; end: number }[] = [];
  const index = await reader.readFile('model.safetensors.index.json');
  const files = index ? [...new Set(Object.values(JSON.parse(new TextDecoder().decode(index)).weight_map as Record<string, string>))] : ['model.safetensors'];
  for (const file of files) {
    for (const info of (await readSafetensorsHeader((await reader.openFile(file))!)).values())
      ranges.push({ file, name: info.name, begin: info.begin, end: info.end });
  }
  await reader.close?.();
  return ranges;
}

/** Byte-range answers (206) of the safetensors files. */
const rangeRequests = (log: HubRequest[]) => log.filter((r) => r.status === 206 && r.file?.endsWith('.safetensors'));
const isHeaderWindow = (r: HubRequest) => r.range!.start === 0 && r.range!.end < HEADER_WINDOW;

describe.each([
  ['one safetensors file, tied head', 'kakaocorp/tiny-llama', dirs.single, ['q4', 'q4f16'] as ConvertDtype[]],
  // fp16 transposes whole tensors; q4 streams row blocks.
  ['sharded, untied head, fp16 and q4', 'kakaocorp/tiny-llama-sharded', dirs.sharded, ['fp16', 'q4'] as ConvertDtype[]],
])('a Hub repo (%s) converted over HTTP', (_, repoId, dir, dtypes) => {
  it('equals the Node CLI conversion byte for byte, fetching each tensor once, as estimated', async () => {
    const resolved = await resolveHfCheckpoint(repoId, 'main', { ...hubOptions, dtypes });
    expect(resolved.sha).toBe(hub.shaOf(repoId));
    expect(resolved.weightFiles.every((f) => f.lfsSha256?.length === 64)).toBe(true);
    const writer = new MemoryModelWriter();
    await convertCheckpoint(hfCheckpointReader(resolved, hubOptions), writer, { dtypes, sourceId: `${repoId}@${resolved.sha}`, blockBytes: 1 << 20 });
    expectSameFiles(writer, await cliConversion(dir, dtypes));

    // Every file read at the pinned commit; each tensor byte fetched exactly once.
    expect(hub.log.filter((r) => r.path.includes('/resolve/')).every((r) => r.path.includes(`/resolve/${resolved.sha}/`))).toBe(true);
    const requests = rangeRequests(hub.log);
    const tensors = await tensorRanges(dir);
    for (const t of tensors) {
      const covering = requests.filter((r) => r.file === t.file && !isHeaderWindow(r) && r.range!.start < t.end && r.range!.end >= t.begin);
      const fetched = covering.reduce((n, r) => n + Math.min(t.end, r.range!.end + 1) - Math.max(t.begin, r.range!.start), 0);
      expect(fetched, t.name).toBe(t.end - t.begin);
    }
    // What came over the wire beyond the estimate: per weight file, the part of the header read
    // that reaches into the first tensor; config.json and the index, read by resolve and again by
    // the converter.
    const bodyBytes = hub.log.reduce((n, r) => n + r.bytesSent, 0);
    const headerOverlap = resolved.weightFiles.reduce(
      (n, f) => n + Math.min(f.size, HEADER_WINDOW) - Math.min(...tensors.filter((t) => t.file === f.path).map((t) => t.begin)),
      0,
    );
    const fileSize = (name: string) => resolved.files.find((f) => f.path === name)?.size ?? 0;
    expect(bodyBytes).toBe(resolved.downloadBytes + headerOverlap + fileSize('config.json') + fileSize('model.safetensors.index.json'));

    const estimate = estimateConversionSize(resolved, dtypes);
    const size = (path: string) => writer.get(path)!.length;
    for (const dtype of dtypes) {
      const graph = `onnx/${graphFileName(dtype)}`;
      expect(estimate.perDtype[dtype], dtype).toBe(size(graph) + size(`${graph}_data`));
    }
    const shared = writer
      .paths()
      .filter((p) => !p.startsWith('onnx/'))
      .reduce((n, p) => n + size(p), 0);
    expect(estimate.sharedBytes).toBeGreaterThanOrEqual(shared);
    expect(estimate.sharedBytes - shared).toBeLessThan(4096);
  });
});

describe('a network cut in the middle of a conversion', () => {
  const repoId = 'kakaocorp/tiny-llama';
  const dtypes: ConvertDtype[] = ['q4', 'q4f16'];

  it('resumes from the last checkpoint without refetching finished tensors, with identical output', async () => {
    const resolved = await resolveHfCheckpoint(repoId, 'main', { ...hubOptions, dtypes });
    const options = { dtypes, sourceId: `${repoId}@${resolved.sha}`, blockBytes: 1 << 20 };
    const writer = new MemoryModelWriter();
    let saved: ConversionState | undefined;
    const cut = convertCheckpoint(hfCheckpointReader(resolved, hubOptions), writer, {
      ...options,
      onCheckpoint: (state) => {
        saved = state;
        // Past the embedding and a few layer tensors: cut the network 100 kB further on.
        if (state.done === 6) hub.cutAfter(100_000);
      },
    });
    await expect(cut).rejects.toMatchObject({ name: 'HfHubError', code: 'network' });
    expect(saved!.done).toBeGreaterThanOrEqual(6);
    expect(saved!.done).toBeLessThan(saved!.total);

    hub.setNetworkDown(false);
    const firstRun = hub.log.length;
    await convertCheckpoint(hfCheckpointReader(resolved, hubOptions), writer, { ...options, resumeFrom: saved });
    expectSameFiles(writer, await cliConversion(dirs.single, dtypes));

    const secondRun = hub.log.slice(firstRun);
    expect(secondRun.some((r) => r.file === 'tokenizer.json')).toBe(false); // small files are done too
    const { config, shape } = resolved;
    const plan = planConversion(shape, computeRopeParameters(config), dtypes, 1024 ** 3);
    const finished = new Set(plan.steps.slice(0, saved!.done).map((s) => s.source));
    const ranges = (await tensorRanges(dirs.single)).filter((t) => finished.has(t.name));
    const refetched = rangeRequests(secondRun).filter((r) => ranges.some((t) => r.range!.start < t.end && r.range!.end >= t.begin));
    // Only the header read (its 64 KiB window reaches into the first tensor) touches finished tensors.
    expect(refetched.filter((r) => !isHeaderWindow(r))).toEqual([]);
    expect(rangeRequests(secondRun).length).toBeGreaterThan(1);
  });
});

describe('resolveHfCheckpoint errors', () => {
  const fail = (repo: string, options: HfHubOptions = {}, revision = 'main') =>
    resolveHfCheckpoint(repo, revision, { ...hubOptions, ...options }).then(
      () => null,
      (error: unknown) => error as HfHubError,
    );

  it('a gated repo without access is "gated"; with a granted token it resolves', async () => {
    const error = await fail('gated/tiny-llama');
    expect(error).toBeInstanceOf(HfHubError);
    expect([error?.code, error?.status]).toEqual(['gated', 401]);
    const resolved = await resolveHfCheckpoint('gated/tiny-llama', 'main', { ...hubOptions, accessToken: TOKEN });
    expect(resolved.gated).toBe('manual');
    const reader = hfCheckpointReader(resolved, { ...hubOptions, accessToken: TOKEN });
    expect((await (await reader.openFile('model.safetensors'))!.read(0, 8)).length).toBe(8);
  });

  it('unknown repos and revisions are "not-found"', async () => {
    expect((await fail('kakaocorp/no-such-model'))?.code).toBe('not-found');
    expect((await fail('kakaocorp/tiny-llama', {}, 'no-such-branch'))?.code).toBe('not-found');
  });

  it('names what cannot be converted before any weight is fetched', async () => {
    expect((await fail('other/tiny-mistral'))?.code).toBe('unsupported-architecture');
    const noSafetensors = await fail('other/pytorch-only');
    expect(noSafetensors?.code).toBe('no-safetensors');
    expect(noSafetensors?.message).toContain('PyTorch');
    expect((await fail('not a repo id'))?.code).toBe('invalid-repo-id');
    expect(hub.log.some((r) => r.file?.endsWith('.safetensors'))).toBe(false);
  });

  it('an unreachable Hub is "network"', async () => {
    hub.setNetworkDown(true);
    expect((await fail('kakaocorp/tiny-llama'))?.code).toBe('network');
  });

  it('a server without Range support is refused before its body is downloaded', async () => {
    const resolved = await resolveHfCheckpoint('kakaocorp/tiny-llama', 'main', hubOptions);
    hub.setIgnoreRange(true);
    const received: number[] = [];
    const conversion = convertCheckpoint(hfCheckpointReader(resolved, { ...hubOptions, onBytes: (n) => received.push(n) }), new MemoryModelWriter(), {
      dtypes: ['q4'],
    });
    await expect(conversion).rejects.toMatchObject({ name: 'HttpSourceError', code: 'range-unsupported' });
    // Only config.json (read whole before the weights) was received, no safetensors byte.
    expect(received.reduce((a, b) => a + b, 0)).toBe(readFileSync(join(dirs.single, 'config.json')).length);
  });
});
