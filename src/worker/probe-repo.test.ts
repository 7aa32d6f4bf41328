/**
 * Add model's Hub check against a loopback mock Hub serving hostile repos: sizes no browser model
 * has, a crafted external-data count and an oversized "small" file are refused with their typed
 * errors, before anything is planned or fetched from them.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockHub, type MockHub } from '../testing/mock-hub.ts';
import { AppError } from '../lib/errors.ts';
import { probeRepo } from './probe-repo.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const CHECKPOINT = join(FIXTURES, 'checkpoints', 'tiny-llama');
const ONNX_MODEL = join(FIXTURES, 'models', 'tiny-llama');

let hub: MockHub;

/** A copy of `dir` with config.json changed by `change` (and `extra` files written). */
function hostileCopy(dir: string, change: (config: Record<string, unknown>) => void, extra: Record<string, string | Uint8Array> = {}): string {
  const copy = mkdtempSync(join(tmpdir(), 'hanmadi-hostile-'));
  cpSync(dir, copy, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  change(config);
  writeFileSync(join(copy, 'config.json'), JSON.stringify(config));
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(copy, name), content);
  return copy;
}

beforeAll(async () => {
  hub = await startMockHub({
    repos: {
      'evil/layers': { dir: hostileCopy(CHECKPOINT, (c) => (c.num_hidden_layers = 1e7)) },
      'evil/vocab': { dir: hostileCopy(ONNX_MODEL, (c) => (c.vocab_size = 2 ** 40)) },
      'evil/external': {
        dir: hostileCopy(ONNX_MODEL, (c) => (c['transformers.js_config'] = { use_external_data_format: { 'model_q4.onnx': 1e9 } })),
      },
      // A 17 MB config.json: refused from the listing, never fetched.
      'evil/huge-config': { dir: hostileCopy(CHECKPOINT, () => {}, { 'config.json': `{"pad":"${'x'.repeat(17 * 1024 * 1024)}"}` }) },
    },
  });
});
afterAll(() => hub?.close());

async function refusal(repo: string): Promise<{ code: string; params?: Record<string, unknown> }> {
  const error = await probeRepo(repo, undefined, { host: hub.url, maxAttempts: 1 }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return { code: error.code, params: error.params };
}

describe('probeRepo with hostile repos', () => {
  it('refuses a checkpoint whose config has ten million layers, before planning its conversion', async () => {
    expect(await refusal('evil/layers')).toEqual({ code: 'config-out-of-bounds', params: { field: 'num_hidden_layers', value: 1e7, max: 1024 } });
  });

  it('refuses an ONNX repo whose config has an absurd vocabulary', async () => {
    expect(await refusal('evil/vocab')).toMatchObject({ code: 'config-out-of-bounds', params: { field: 'vocab_size' } });
  });

  it('refuses a billion external-data files', async () => {
    expect(await refusal('evil/external')).toMatchObject({ code: 'config-out-of-bounds', params: { field: 'use_external_data_format', value: 1e9 } });
  });

  it('refuses a config.json over its byte cap without fetching it', async () => {
    hub.log.length = 0;
    expect(await refusal('evil/huge-config')).toMatchObject({ code: 'file-too-large', params: { file: 'evil/huge-config/config.json' } });
    expect(hub.log.filter((r) => r.file === 'config.json')).toEqual([]);
  });
});
