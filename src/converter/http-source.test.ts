/**
 * HttpByteSource and fetchBytes against the local mock Hub: exact bytes at any offset with one
 * request each (one for a safetensors header), servers without Range refused unread, transient failures retried
 * (going on from the bytes received), retry budget, abort, and non-retryable statuses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockHub, type MockHub } from '../testing/mock-hub.ts';
import { createRng } from '../model/rng.ts';
import { fetchBytes, HttpByteSource, HttpSourceError } from './http-source.ts';
import { readSafetensorsHeader } from './safetensors.ts';
import { SMALL_LLAMA, syntheticCheckpointFiles } from '../testing/memory-checkpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'hanmadi-http-'));
const rng = createRng(11);
const blob = Uint8Array.from({ length: 300_000 }, () => Math.floor(rng.uniform() * 256));
writeFileSync(join(dir, 'blob.bin'), blob);
writeFileSync(join(dir, 'model.safetensors'), syntheticCheckpointFiles(SMALL_LLAMA)['model.safetensors']);
const fast = { retryDelayMs: 1, maxAttempts: 3 };

let hub: MockHub;
let url: (file: string) => string;
beforeAll(async () => {
  hub = await startMockHub({ repos: { 'test/files': { dir } } });
  url = (file) => `${hub.url}/test/files/resolve/main/${file}`;
});
afterAll(() => hub.close());
beforeEach(() => {
  hub.log.length = 0;
  hub.setNetworkDown(false);
  hub.setIgnoreRange(false);
});

describe('HttpByteSource', () => {
  it('reads exact bytes at any offset with one 206 Range request each, and counts them', async () => {
    const received: number[] = [];
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, onBytes: (n) => received.push(n) });
    for (const [offset, length] of [
      [0, 1],
      [12_345, 100_000],
      [blob.length - 7, 7],
      [299_000, 1000],
    ]) {
      expect(Buffer.from(await source.read(offset, length)).equals(Buffer.from(blob.subarray(offset, offset + length)))).toBe(true);
    }
    expect(hub.log.map((r) => [r.status, r.range?.start, r.range?.end])).toEqual([
      [206, 0, 0],
      [206, 12_345, 112_344],
      [206, blob.length - 7, blob.length - 1],
      [206, 299_000, 299_999],
    ]);
    expect(source.bytesFetched).toBe(1 + 100_000 + 7 + 1000);
    expect(received.reduce((a, b) => a + b, 0)).toBe(source.bytesFetched);
  });

  it('learns the size with a one-byte request when not given', async () => {
    const source = await HttpByteSource.open(url('blob.bin'));
    expect(source.size).toBe(blob.length);
    expect(hub.log.map((r) => r.range)).toEqual([{ start: 0, end: 0 }]);
  });

  it('reads a safetensors header (length, then JSON) with one request', async () => {
    const source = await HttpByteSource.open(url('model.safetensors'), { size: syntheticCheckpointFiles(SMALL_LLAMA)['model.safetensors'].length });
    const tensors = await readSafetensorsHeader(source);
    expect(tensors.get('model.embed_tokens.weight')?.shape).toEqual([300, 64]);
    expect(hub.log.map((r) => r.range)).toEqual([{ start: 0, end: 64 * 1024 - 1 }]);
  });

  it('refuses a server that ignores Range without reading its body', async () => {
    hub.setIgnoreRange(true);
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length });
    await expect(source.read(1000, 200_000)).rejects.toMatchObject({ code: 'range-unsupported' });
    expect(source.bytesFetched).toBe(0);
    expect(hub.log[0].status).toBe(200);
    await expect(HttpByteSource.open(url('blob.bin'))).rejects.toMatchObject({ code: 'range-unsupported' });
  });

  it('retries 503s, then succeeds', async () => {
    hub.failNext(2, 503);
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, ...fast });
    expect(Buffer.from(await source.read(5, 100_000)).equals(Buffer.from(blob.subarray(5, 100_005)))).toBe(true);
    expect(hub.log.map((r) => r.status)).toEqual([503, 503, 206]);
  });

  it('after a body cut short, asks only for the bytes still missing', async () => {
    // A fetch whose first response body breaks after 70,000 bytes, deterministically (a real
    // socket cut loses whatever the stream had queued, so where it stops is up to timing).
    let cuts = 1;
    const cutFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (cuts-- <= 0) return response;
      const reader = response.body!.getReader();
      let passed = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (passed === 70_000) {
            await reader.cancel();
            return controller.error(new TypeError('terminated'));
          }
          const { done, value } = await reader.read();
          if (done) return controller.close();
          const part = value.subarray(0, Math.min(value.length, 70_000 - passed));
          passed += part.length;
          controller.enqueue(part);
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, ...fast, fetch: cutFetch });
    const bytes = await source.read(10_000, 250_000);
    expect(Buffer.from(bytes).equals(Buffer.from(blob.subarray(10_000, 260_000)))).toBe(true);
    expect(hub.log.map((r) => r.range)).toEqual([
      { start: 10_000, end: 259_999 },
      { start: 80_000, end: 259_999 },
    ]);
    expect(source.bytesFetched).toBe(250_000);
  });

  it('recovers from a real connection drop mid-body', async () => {
    hub.cutAfter(70_000, false);
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, ...fast });
    const bytes = await source.read(10_000, 250_000);
    expect(Buffer.from(bytes).equals(Buffer.from(blob.subarray(10_000, 260_000)))).toBe(true);
    const [first, second] = hub.log;
    expect(hub.log).toHaveLength(2);
    expect(first.bytesSent).toBe(70_000);
    // The retry starts where the client's received bytes end (at most where the server stopped).
    expect(second.range!.start).toBeGreaterThanOrEqual(10_000);
    expect(second.range!.start).toBeLessThanOrEqual(80_000);
    expect(second.range!.end).toBe(259_999);
  });

  it('streams pieces in order, each byte once across a dropped connection; what the sink throws ends the read unretried', async () => {
    hub.cutAfter(70_000, false);
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, ...fast });
    const pieces: Uint8Array[] = [];
    const positions: number[] = [];
    await source.readStream(10_000, 250_000, (piece, progress) => {
      positions.push(progress.filled);
      pieces.push(piece.slice());
    });
    expect(Buffer.concat(pieces).equals(Buffer.from(blob.subarray(10_000, 260_000)))).toBe(true);
    expect(positions).toEqual(pieces.map((_, i) => pieces.slice(0, i).reduce((sum, p) => sum + p.length, 0)));
    expect(hub.log).toHaveLength(2);

    hub.log.length = 0;
    const full = new Error('store full');
    const progress = { filled: 0 };
    await expect(
      source.readStream(
        0,
        200_000,
        (_, at) => {
          if (at.filled > 0) throw full;
        },
        progress,
      ),
    ).rejects.toBe(full);
    expect(hub.log).toHaveLength(1);
    expect(progress.filled).toBeGreaterThan(0);
  });

  it('gives up with a network error once the retry budget is spent', async () => {
    hub.setNetworkDown(true);
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, ...fast });
    await expect(source.read(0, 100_000)).rejects.toMatchObject({ name: 'HttpSourceError', code: 'network' });
    expect(hub.log).toHaveLength(3);
  });

  it('stops at once when aborted, even while waiting to retry', async () => {
    hub.setNetworkDown(true);
    const controller = new AbortController();
    // Abort once the first attempt has failed: the reader is then in its 60 s wait before retrying.
    let firstAttemptFailed!: () => void;
    const failed = new Promise<void>((resolve) => (firstAttemptFailed = resolve));
    const watchedFetch: typeof fetch = async (input, init) => {
      try {
        return await fetch(input, init);
      } catch (error) {
        firstAttemptFailed();
        throw error;
      }
    };
    const source = await HttpByteSource.open(url('blob.bin'), { size: blob.length, retryDelayMs: 60_000, signal: controller.signal, fetch: watchedFetch });
    const reading = source.read(0, 100_000);
    await Promise.race([failed, reading.catch(() => {})]); // a read that settles first fails the checks below
    controller.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('reports a missing file as a non-retried status with the Hub error code', async () => {
    const error = (await HttpByteSource.open(url('nope.bin'), fast).catch((e: unknown) => e)) as HttpSourceError;
    expect(error).toBeInstanceOf(HttpSourceError);
    expect([error.code, error.status, error.serverCode]).toEqual(['http-status', 404, 'EntryNotFound']);
    expect(hub.log).toHaveLength(1);
  });
});

describe('fetchBytes', () => {
  it('fetches a whole file, retrying a dropped connection from the start', async () => {
    hub.cutAfter(1000, false);
    expect(Buffer.from(await fetchBytes(url('blob.bin'), fast)).equals(Buffer.from(blob))).toBe(true);
    expect(hub.log.map((r) => r.status)).toEqual([200, 200]);
  });
});
