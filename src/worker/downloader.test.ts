/**
 * The downloader against a real HTTP server (the mock Hub, on loopback, with a request log of
 * byte ranges and injected cuts) into IndexedDB (fake-indexeddb): chunked Range downloads,
 * resuming after a cut at exactly the byte stored, repairs of dropped chunks, changed sources,
 * hash checks, pinned Hub revisions, quota refusals before any write, locks between "tabs",
 * pause and cancel; the pipeline (chunks queued for their commit when the network is cut) and
 * small files stored side by side.
 */
import 'fake-indexeddb/auto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockHub, type HubRequest, type MockHub } from '../testing/mock-hub.ts';
import { FIXTURE_MODELS_DIR } from '../testing/fixture-specs.ts';
import { AppDB, type StoredChunkRecord, type StoredFileRecord } from '../db/app-db.ts';
import { ModelStore } from '../db/model-store.ts';
import type { ModelSource } from '../model/catalog.ts';
import { AppError } from '../lib/errors.ts';
import { PIECES_AHEAD } from './download-file.ts';
import { ensureStored, memoryLocks, SMALL_FILES_AT_ONCE, type DownloaderDeps } from './downloader.ts';
import type { DownloadProgress, StoredModelSpec } from './protocol.ts';

const CHUNK = 4 * 1024 * 1024;
/** Bytes a request asks for as a file streams in: a quarter chunk, so a cut keeps a partial chunk. */
const PIECE = 1024 * 1024;
/** What a cut can lose beyond the bytes it keeps: the pieces in flight (one cut short, the others past it). */
const LOST_AT_MOST = PIECES_AHEAD * PIECE;
const REPO = 'hanmadi/tiny-llama';
const DATA = 'onnx/model.onnx_data';
// fp32: its data file (63 MiB) spans many chunks; the 4-bit ones are a few MiB.
const FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', DATA];

let root: string;

/** A repo folder with the fixture's fp32 files; `edit` may change files (the manifest is rewritten to match unless told). */
function makeRepo(
  name: string,
  options: { manifest?: boolean; edit?: (dir: string) => void; manifestEdit?: (files: { path: string; size: number; sha256: string }[]) => void } = {},
): string {
  const dir = join(root, name);
  for (const path of FILES) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    copyFileSync(join(FIXTURE_MODELS_DIR, 'tiny-llama', path), join(dir, path));
  }
  options.edit?.(dir);
  if (options.manifest !== false) {
    const files = FILES.map((path) => {
      const bytes = readFileSync(join(dir, path));
      return { path, size: bytes.length, sha256: bytesToHex(sha256(bytes)) };
    });
    options.manifestEdit?.(files);
    writeFileSync(join(dir, 'hanmadi-manifest.json'), JSON.stringify({ format: 1, files }));
  }
  return dir;
}

function flipByte(dir: string, path: string, at: number): void {
  const bytes = readFileSync(join(dir, path));
  bytes[at] ^= 0xff;
  writeFileSync(join(dir, path), bytes);
}

let db: AppDB;
let store: ModelStore;
let hub: MockHub | null = null;

const RETRY = { maxAttempts: 2, retryDelayMs: 5 };

/** The Range requests that store bytes `from`..`size` of a file: PIECE bytes each, never across a chunk's end; a file of one chunk in one. */
function pieceRanges(size: number, from = 0): { start: number; end: number }[] {
  const ranges = [];
  for (let start = from; start < size;) {
    const end = Math.min(size, start + (size <= CHUNK ? size : PIECE), (Math.floor(start / CHUNK) + 1) * CHUNK);
    ranges.push({ start, end: end - 1 });
    start = end;
  }
  return ranges;
}

function deps(extra: Partial<DownloaderDeps> = {}): DownloaderDeps {
  return { store, chunkSize: CHUNK, pieceBytes: PIECE, retry: RETRY, locks: memoryLocks(), ...extra };
}

async function serve(dir: string, options: { redirectLfs?: boolean } = {}): Promise<MockHub> {
  await hub?.close();
  hub = await startMockHub({ repos: { [REPO]: { dir } }, ...options });
  return hub;
}

const folderSource = (h: MockHub): ModelSource => ({ kind: 'url', baseUrl: `${h.url}/${REPO}/resolve/main/` });
const spec = (source: ModelSource, modelKey = 'user:tiny'): StoredModelSpec => ({ modelKey, label: 'Tiny', source, dtype: 'fp32' });

/** Successful body requests for one file after log index `from`. */
const requestsFor = (h: MockHub, file: string, from = 0): HubRequest[] => h.log.slice(from).filter((r) => r.file === file && r.method === 'GET');

async function storedSha(modelKey: string, path: string): Promise<string> {
  return bytesToHex(sha256(await store.readFileBytes(modelKey, path)));
}

const diskSha = (dir: string, path: string) => bytesToHex(sha256(readFileSync(join(dir, path))));

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hanmadi-download-'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
  db = new AppDB(`download-test-${crypto.randomUUID()}`);
  store = new ModelStore(db);
});

afterEach(async () => {
  await hub?.close();
  hub = null;
  await db.delete();
});

describe('downloading a converted folder (hanmadi-manifest.json)', () => {
  it('stores every file verified, Range requests of a piece within a chunk, and a second call makes no request', async () => {
    const dir = makeRepo('plain');
    const h = await serve(dir);
    const progress: DownloadProgress[] = [];
    const result = await ensureStored(spec(folderSource(h)), deps(), { onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ outcome: 'complete', repairedChunks: 0, completedNow: true });

    const size = readFileSync(join(dir, DATA)).length;
    expect(result.downloadedBytes).toBe(FILES.filter((p) => p !== 'config.json').reduce((s, p) => s + readFileSync(join(dir, p)).length, 0));
    for (const path of FILES) expect(await storedSha('user:tiny', path)).toBe(diskSha(dir, path));
    expect((await db.modelFiles.toArray()).map((f) => [f.path, f.verified]).sort()).toEqual(FILES.map((p) => [p, 'sha256']).sort());
    const model = (await store.getModel('user:tiny', 'fp32'))!;
    expect([model.status, model.totalBytes, [...model.files].sort()]).toEqual(['complete', progress.at(-1)!.total, [...FILES].sort()]);

    const ranges = requestsFor(h, DATA).map((r) => r.range);
    expect(ranges).toEqual(pieceRanges(size));
    // config.json came with planning (no Range); everything else piece by piece, once.
    for (const path of FILES)
      expect(requestsFor(h, path).length, path).toBe(path === 'config.json' ? 1 : pieceRanges(readFileSync(join(dir, path)).length).length);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', loaded: progress.at(-1)!.total });
    expect(progress.some((p) => p.phase === 'downloading' && p.loaded > 0 && p.loaded < p.total)).toBe(true);

    const before = h.log.length;
    expect(await ensureStored(spec(folderSource(h)), deps())).toMatchObject({ outcome: 'complete', downloadedBytes: 0 });
    expect(h.log.length).toBe(before);
  });

  it('after a cut mid-file with the network down, fails typed, keeps every piece received, and resumes at exactly the byte kept', async () => {
    const dir = makeRepo('cut');
    const h = await serve(dir);
    const size = readFileSync(join(dir, DATA)).length;
    const cutAt = 4 * CHUNK + 1_234_567;
    h.cutFileAt(DATA, cutAt); // the network stays down after the cut
    const error = await failure(ensureStored(spec(folderSource(h)), deps()));
    expect(error.toValue()).toMatchObject({ code: 'download-failed', params: { file: DATA } });
    const kept = (await db.modelFiles.get(['user:tiny', DATA]))!;
    expect(kept.hashedChunks).toBe(4);
    expect(kept.storedBytes).toBeGreaterThan(4 * CHUNK);
    expect(kept.storedBytes).toBeLessThanOrEqual(cutAt);
    const completeBefore = (await db.modelFiles.toArray()).filter((f) => f.verified).map((f) => f.path);
    expect(completeBefore.length).toBeGreaterThan(2);
    const sentBefore = requestsFor(h, DATA).reduce((s, r) => s + r.bytesSent, 0);

    h.setNetworkDown(false);
    const mark = h.log.length;
    const result = await ensureStored(spec(folderSource(h)), deps());
    expect(result.outcome).toBe('complete');
    const resumed = requestsFor(h, DATA, mark);
    expect(resumed[0].range).toEqual(pieceRanges(size, kept.storedBytes)[0]);
    expect(resumed.reduce((s, r) => s + r.bytesSent, 0)).toBe(size - kept.storedBytes);
    // Only what was missing crossed the network again (the pieces in flight at the cut aside).
    expect(sentBefore - kept.storedBytes).toBeLessThan(LOST_AT_MOST);
    for (const path of completeBefore) expect(requestsFor(h, path, mark), path).toEqual([]);
    expect(await storedSha('user:tiny', DATA)).toBe(diskSha(dir, DATA));
  });

  it('fetches exactly a dropped chunk again and checks it against the digest it had', async () => {
    const dir = makeRepo('repair');
    const h = await serve(dir);
    await ensureStored(spec(folderSource(h)), deps());
    await store.dropChunk('user:tiny', DATA, 7);
    expect((await store.getModel('user:tiny', 'fp32'))!.status).toBe('partial');

    const mark = h.log.length;
    const result = await ensureStored(spec(folderSource(h)), deps());
    expect(result).toMatchObject({ outcome: 'complete', repairedChunks: 1, downloadedBytes: CHUNK, completedNow: true });
    expect(requestsFor(h, DATA, mark).map((r) => r.range)).toEqual([{ start: 7 * CHUNK, end: 8 * CHUNK - 1 }]);
    expect(await storedSha('user:tiny', DATA)).toBe(diskSha(dir, DATA));
  });

  it('restarts a file whose published hash changed since its first bytes were stored', async () => {
    const h = await serve(makeRepo('v1'));
    h.cutFileAt(DATA, 2 * CHUNK + PIECE + 5);
    await failure(ensureStored(spec(folderSource(h)), deps()));
    expect((await db.modelFiles.get(['user:tiny', DATA]))!.storedBytes).toBeGreaterThan(2 * CHUNK);

    const v2 = makeRepo('v2', { edit: (dir) => flipByte(dir, DATA, 100) });
    const h2 = await serve(v2);
    const result = await ensureStored(spec({ kind: 'url', baseUrl: `${h2.url}/${REPO}/resolve/main/` }), deps());
    expect(result.outcome).toBe('complete');
    expect(requestsFor(h2, DATA)[0].range?.start).toBe(0);
    expect(await storedSha('user:tiny', DATA)).toBe(diskSha(v2, DATA));
  });

  it('discards a file that does not match its published SHA-256 and says which', async () => {
    const dir = makeRepo('bad-hash', {
      manifestEdit: (files) => {
        files.find((f) => f.path === 'tokenizer.json')!.sha256 = '0'.repeat(64);
      },
    });
    const h = await serve(dir);
    const error = await failure(ensureStored(spec(folderSource(h)), deps()));
    expect(error.toValue()).toMatchObject({ code: 'verification-failed', params: { file: 'tokenizer.json' } });
    expect(
      await db.modelChunks
        .where('[modelKey+path+index]')
        .between(['user:tiny', 'tokenizer.json', -Infinity], ['user:tiny', 'tokenizer.json', Infinity])
        .count(),
    ).toBe(0);
    // Fetched again once before giving up.
    expect(requestsFor(h, 'tokenizer.json').length).toBe(2 * pieceRanges(readFileSync(join(dir, 'tokenizer.json')).length).length);
  });

  it('refuses a download the quota cannot hold before writing anything, and keeps what is stored', async () => {
    const dir = makeRepo('quota');
    const h = await serve(dir);
    await ensureStored(spec(folderSource(h), 'user:first'), deps());
    const rows = [await db.modelFiles.count(), await db.modelChunks.count()];

    const error = await failure(ensureStored(spec(folderSource(h), 'user:second'), deps({ estimate: async () => ({ usage: 5_000_000, quota: 20_000_000 }) })));
    const total = FILES.reduce((s, p) => s + readFileSync(join(dir, p)).length, 0);
    expect(error.toValue()).toMatchObject({ code: 'quota-insufficient', params: { needed: total, available: 15_000_000 } });
    expect([await db.modelFiles.count(), await db.modelChunks.count()]).toEqual(rows);
    expect(await store.getModel('user:second', 'fp32')).toBeUndefined();
    expect(await store.markCompleteIfStored('user:first', 'fp32')).toBe(true);
  });

  it('a write refused mid-download (disk full) says how much it keeps for the resume, and the resume completes', async () => {
    const dir = makeRepo('full');
    const h = await serve(dir);
    // The browser refuses the data file's second chunk, as IndexedDB does once the origin's quota is reached.
    const commit = store.commitChunk.bind(store);
    let refused = false;
    store.commitChunk = async (chunk, file) => {
      if (chunk.path === DATA && chunk.index === 1 && !refused) {
        refused = true;
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return commit(chunk, file);
    };
    const error = await failure(ensureStored(spec(folderSource(h)), deps()));
    const total = FILES.reduce((s, p) => s + readFileSync(join(dir, p)).length, 0);
    const value = error.toValue();
    expect(value).toMatchObject({ code: 'quota-exceeded', params: { file: DATA, totalBytes: total } });
    // Kept: the data file's first chunk at least, and never more than what the store really holds.
    const stored = (await store.fileStatus('user:tiny', DATA))!.record.storedBytes;
    expect(stored).toBeGreaterThanOrEqual(CHUNK);
    expect(value.params!.keptBytes).toBeGreaterThanOrEqual(stored);
    expect(value.params!.keptBytes).toBeLessThan(total);

    const mark = h.log.length;
    const resumed = await ensureStored(spec(folderSource(h)), deps());
    expect(resumed.outcome).toBe('complete');
    expect(resumed.downloadedBytes).toBe(total - Number(value.params!.keptBytes));
    expect(requestsFor(h, DATA, mark)[0].range!.start).toBe(stored);
    expect(await storedSha('user:tiny', DATA)).toBe(diskSha(dir, DATA));
  });

  it('pauses keeping what arrived, and cancels leaving nothing behind', async () => {
    const h = await serve(makeRepo('pause'));
    const controller = new AbortController();
    // Every piece reported, so the pause and the cancel below land mid-file on a machine of any speed.
    const everyPiece = deps({ progressIntervalMs: 0 });
    const paused = await ensureStored(spec(folderSource(h)), everyPiece, {
      signal: controller.signal,
      onProgress: (p) => {
        // Pieces arrive in any order, PIECES_AHEAD at a time: past this, the first chunk and a piece after it arrived whole.
        if ((p.files.find((f) => f.path === DATA)?.loaded ?? 0) > CHUNK + LOST_AT_MOST) controller.abort('pause');
      },
    });
    expect(paused.outcome).toBe('paused');
    const kept = (await db.modelFiles.get(['user:tiny', DATA]))!.storedBytes;
    expect(kept).toBeGreaterThan(CHUNK);

    const mark = h.log.length;
    const cancel = new AbortController();
    const cancelled = await ensureStored(spec(folderSource(h)), everyPiece, {
      signal: cancel.signal,
      onProgress: (p) => {
        if ((p.files.find((f) => f.path === DATA)?.loaded ?? 0) > kept + CHUNK) cancel.abort('cancel');
      },
    });
    expect(cancelled.outcome).toBe('cancelled');
    expect(requestsFor(h, DATA, mark)[0].range?.start).toBe(kept);
    expect([await db.storedModels.count(), await db.modelFiles.count(), await db.modelChunks.count()]).toEqual([0, 0, 0]);
  });

  it('two tabs downloading the same model fetch each byte once (a lock per file)', async () => {
    const dir = makeRepo('tabs');
    const h = await serve(dir);
    const locks = memoryLocks();
    // Tab B starts once tab A is inside the weights file, and A holds back that file's second
    // chunk until B says it is waiting for it: B always meets A's lock mid-file, by construction.
    let aInData!: () => void;
    const aStarted = new Promise<void>((resolve) => (aInData = resolve));
    let bWaitsForData!: () => void;
    const bWaiting = new Promise<void>((resolve) => (bWaitsForData = resolve));
    const gatedFetch: typeof fetch = async (input, init) => {
      const range = new Headers(init?.headers).get('range');
      if (String(input).endsWith(DATA) && range && !range.startsWith('bytes=0-')) await bWaiting;
      return fetch(input, init);
    };
    const waits: string[] = [];
    const tabA = ensureStored(spec(folderSource(h)), deps({ locks, fetch: gatedFetch }), {
      onProgress: (p) => {
        if (p.files.some((f) => f.path === DATA && f.state === 'downloading')) aInData();
      },
    });
    await Promise.race([aStarted, tabA]); // (a tab A that fails early fails the test, not hangs it)
    const tabB = ensureStored(spec(folderSource(h)), deps({ locks }), {
      onProgress: (p) => {
        const waiting = p.files.filter((f) => f.state === 'waiting').map((f) => f.path);
        waits.push(...waiting);
        if (waiting.includes(DATA)) bWaitsForData();
      },
    });
    // Without a working lock B never waits: let A go on then, so the checks below fail rather than hang.
    void tabB.finally(bWaitsForData).catch(() => {});
    const [a, b] = await Promise.all([tabA, tabB]);
    expect([a.outcome, b.outcome]).toEqual(['complete', 'complete']);
    expect(a.downloadedBytes + b.downloadedBytes).toBe(FILES.filter((p) => p !== 'config.json').reduce((s, p) => s + readFileSync(join(dir, p)).length, 0));
    expect(waits).toContain(DATA);
    const size = readFileSync(join(dir, DATA)).length;
    expect(size).toBeGreaterThan(CHUNK);
    expect(requestsFor(h, DATA).length).toBe(pieceRanges(size).length);
  });

  it('says when the host ignores Range requests', async () => {
    const h = await serve(makeRepo('norange'));
    h.setIgnoreRange(true);
    // tokenizer.json is the first file of more than one chunk.
    expect((await failure(ensureStored(spec(folderSource(h)), deps()))).toValue()).toMatchObject({
      code: 'range-unsupported',
      params: { file: 'tokenizer.json' },
    });
  });
});

describe('downloading without a manifest', () => {
  it('checks sizes and restarts a file whose ETag changed', async () => {
    const h = await serve(makeRepo('bare', { manifest: false }));
    h.cutFileAt(DATA, CHUNK + 10);
    await failure(ensureStored(spec(folderSource(h)), deps()));
    const etag = (await db.modelFiles.get(['user:tiny', DATA]))!.etag;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/); // the mock Hub's ETag: the LFS sha256

    const changed = makeRepo('bare2', { manifest: false, edit: (dir) => flipByte(dir, DATA, 5) });
    const h2 = await serve(changed);
    expect((await ensureStored(spec({ kind: 'url', baseUrl: `${h2.url}/${REPO}/resolve/main/` }), deps())).outcome).toBe('complete');
    expect(requestsFor(h2, DATA).filter((r) => r.range?.start !== 0 || r.range.end !== 0)[0].range?.start).toBe(0);
    expect((await db.modelFiles.get(['user:tiny', DATA]))!).toMatchObject({ verified: 'size' });
    expect(await storedSha('user:tiny', DATA)).toBe(diskSha(changed, DATA));
  });
});

describe('downloading a Hugging Face ONNX repo', () => {
  it('pins the revision to its commit, verifies LFS SHA-256 and git blob ids, and follows CDN redirects', async () => {
    const dir = makeRepo('hf', { manifest: false });
    const h = await serve(dir, { redirectLfs: true });
    const source: ModelSource = { kind: 'hf', repo: REPO, revision: 'main' };
    const result = await ensureStored(spec(source, 'hf-tiny'), deps({ hubHost: h.url }));
    expect(result.outcome).toBe('complete');
    const model = (await store.getModel('hf-tiny', 'fp32'))!;
    expect(model.revision).toBe(h.shaOf(REPO));
    const verified = Object.fromEntries((await db.modelFiles.toArray()).map((f) => [f.path, f.verified]));
    expect(verified).toEqual({
      'config.json': 'git-sha1',
      'generation_config.json': 'git-sha1',
      'tokenizer.json': 'git-sha1',
      'tokenizer_config.json': 'git-sha1',
      'onnx/model.onnx': 'git-sha1',
      [DATA]: 'sha256', // 38 MB: stored with LFS
    });
    const fileRequests = h.log.filter((r) => r.path.includes('/resolve/'));
    expect(fileRequests.every((r) => r.path.includes(`/resolve/${h.shaOf(REPO)}/`))).toBe(true);
    expect(h.log.some((r) => r.path.startsWith('/cdn/'))).toBe(true);
    for (const path of FILES) expect(await storedSha('hf-tiny', path)).toBe(diskSha(dir, path));

    // A repair asks the Hub again at the pinned commit and fetches only the lost chunk.
    await store.dropChunk('hf-tiny', DATA, 2);
    const mark = h.log.length;
    expect(await ensureStored(spec(source, 'hf-tiny'), deps({ hubHost: h.url }))).toMatchObject({ repairedChunks: 1, downloadedBytes: CHUNK });
    expect(h.log.slice(mark).some((r) => r.path.includes(`/revision/${h.shaOf(REPO)}`))).toBe(true);
    expect(h.log.slice(mark).filter((r) => r.file && r.file !== DATA)).toEqual([]);
  });
});

describe('the download pipeline', () => {
  it('a cut while chunks still wait for their commit keeps them all, in order, with the unfinished chunk; the resume fetches the rest once', async () => {
    const dir = makeRepo('pipeline');
    const h = await serve(dir);
    const size = readFileSync(join(dir, DATA)).length;
    // The data file's commits wait until the network has failed for good: the cut lands while
    // chunks 0 and 1 are digested and queued but not yet stored.
    let networkFailed!: () => void;
    const failedForGood = new Promise<void>((resolve) => (networkFailed = resolve));
    const committed: number[] = [];
    let durableAtCut = -1;
    const gated = new (class extends ModelStore {
      override async commitChunk(chunk: StoredChunkRecord, file: StoredFileRecord): Promise<void> {
        if (chunk.path === DATA) {
          await failedForGood;
          committed.push(chunk.index);
        }
        return super.commitChunk(chunk, file);
      }
    })(db);
    const watchingFetch: typeof fetch = (input, init) =>
      fetch(input, init).catch(async (error: unknown) => {
        durableAtCut = (await db.modelFiles.get(['user:tiny', DATA]))?.hashedChunks ?? -1;
        networkFailed();
        throw error;
      });
    const cutAt = 2 * CHUNK + 1.5 * PIECE;
    h.cutFileAt(DATA, cutAt);
    const error = await failure(ensureStored(spec(folderSource(h)), deps({ store: gated, fetch: watchingFetch })));
    expect(error.toValue()).toMatchObject({ code: 'download-failed', params: { file: DATA } });

    expect(durableAtCut).toBe(0);
    expect(committed).toEqual([0, 1, 2]); // two full chunks, then the unfinished one's bytes
    const kept = (await db.modelFiles.get(['user:tiny', DATA]))!;
    expect(kept.hashedChunks).toBe(2);
    expect(kept.storedBytes).toBeGreaterThan(2 * CHUNK);
    expect(kept.storedBytes).toBeLessThanOrEqual(cutAt);
    const bytes = readFileSync(join(dir, DATA));
    expect(kept.chunkSha256).toEqual([0, 1].map((i) => bytesToHex(sha256(bytes.subarray(i * CHUNK, (i + 1) * CHUNK)))));
    expect(kept.hashState).toMatchObject({ length: kept.storedBytes });
    const sentBefore = requestsFor(h, DATA).reduce((s, r) => s + r.bytesSent, 0);
    expect(sentBefore - kept.storedBytes).toBeLessThan(LOST_AT_MOST);

    h.setNetworkDown(false);
    const mark = h.log.length;
    const progress: number[] = [];
    const result = await ensureStored(spec(folderSource(h)), deps({ progressIntervalMs: 0 }), {
      onProgress: (p) => {
        const loaded = p.files.find((f) => f.path === DATA)?.loaded;
        if (loaded !== undefined) progress.push(loaded);
      },
    });
    const resumed = requestsFor(h, DATA, mark);
    expect(resumed[0].range?.start).toBe(kept.storedBytes);
    expect(resumed.reduce((s, r) => s + r.bytesSent, 0)).toBe(size - kept.storedBytes);
    // Counted once: the data file's rest and generation_config.json (never reached before the cut).
    expect(result.downloadedBytes).toBe(size - kept.storedBytes + readFileSync(join(dir, 'generation_config.json')).length);
    expect(progress.every((loaded, i) => loaded >= kept.storedBytes && loaded <= size && loaded >= (progress[i - 1] ?? 0))).toBe(true);
    expect(await storedSha('user:tiny', DATA)).toBe(diskSha(dir, DATA));
    expect((await db.modelFiles.get(['user:tiny', DATA]))!.verified).toBe('sha256');
  });

  it(
    `stores the small files listed before a large one ${SMALL_FILES_AT_ONCE} at a time beside it, each under its own file lock`,
    { timeout: 30_000 },
    async () => {
      const dir = makeRepo('small');
      const h = await serve(dir);
      // With 16 MiB chunks the four files before the data file are small (one request each; config.json came with planning).
      const chunkSize = 16 * 1024 * 1024;
      const small = ['tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];
      // Each of them is answered only once all three were asked: stored one after another, this would never finish.
      let allAsked!: () => void;
      const asked = new Promise<void>((resolve) => (allAsked = resolve));
      let pending = 0;
      const gatedFetch: typeof fetch = async (input, init) => {
        if (small.some((path) => String(input).endsWith(`/${path}`)) && ++pending === small.length) allAsked();
        if (small.some((path) => String(input).endsWith(`/${path}`))) await asked;
        return fetch(input, init);
      };
      const inner = memoryLocks();
      const held = new Set<string>();
      let mostHeld = 0;
      const locks: typeof inner = {
        request: (name, options, callback) =>
          inner.request(name, options, async (lock) => {
            if (!lock || name.endsWith(DATA)) return callback(lock);
            held.add(name);
            mostHeld = Math.max(mostHeld, held.size);
            try {
              return await callback(lock);
            } finally {
              held.delete(name);
            }
          }),
      };
      const progress: DownloadProgress[] = [];
      const result = await ensureStored(spec(folderSource(h)), deps({ chunkSize, fetch: gatedFetch, locks, progressIntervalMs: 0 }), {
        onProgress: (p) => progress.push(p),
      });
      expect(result.outcome).toBe('complete');
      expect(mostHeld).toBe(SMALL_FILES_AT_ONCE);
      const state = (p: DownloadProgress, path: string) => p.files.find((f) => f.path === path)?.state;
      // The data file streams beside them; generation_config.json, listed after it, waits for it.
      expect(progress.some((p) => state(p, DATA) === 'downloading' && small.some((path) => state(p, path) === 'downloading'))).toBe(true);
      expect(progress.every((p) => p.phase === 'planning' || state(p, 'generation_config.json') === 'queued' || state(p, DATA) === 'done')).toBe(true);
      for (const path of small) expect(requestsFor(h, path).length, path).toBe(1);
      for (const path of FILES) expect(await storedSha('user:tiny', path)).toBe(diskSha(dir, path));
    },
  );
});
